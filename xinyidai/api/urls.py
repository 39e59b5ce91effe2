from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from banks.api import products as product_views
from banks.api import views as bank_views
from enterprises.api import authorizations as authorization_views
from enterprises.api import portrait as portrait_views
from enterprises.api import quality as quality_views
from enterprises.api import records as record_views
from enterprises.api import views as enterprise_views
from lending import api as application_views
from lending import invitation_api, league_api, match_api
from lending import list_api as recommended_list_views
from xinyidai.api import views
from xinyidai.core import calendar_api, notification_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("uscc/check/", enterprise_views.UsccCheckView.as_view(), name="api-uscc-check"),
    path("enterprises/", enterprise_views.EnterpriseListView.as_view(), name="api-enterprises"),
    path(
        "enterprises/<str:uscc>/",
        enterprise_views.EnterpriseDetailView.as_view(),
        name="api-enterprise-detail",
    ),
    path(
        "enterprises/<str:uscc>/portrait/",
        portrait_views.PortraitView.as_view(),
        name="api-enterprise-portrait",
    ),
    path(
        "enterprises/<str:uscc>/graph/",
        portrait_views.GraphView.as_view(),
        name="api-enterprise-graph",
    ),
    path(
        "enterprises/<str:uscc>/summary/",
        portrait_views.SummaryView.as_view(),
        name="api-enterprise-summary",
    ),
    path(
        "enterprises/<str:uscc>/records/",
        portrait_views.RecordsView.as_view(),
        name="api-enterprise-records",
    ),
    path(
        "enterprises/<str:uscc>/ownership/",
        portrait_views.OwnershipView.as_view(),
        name="api-enterprise-ownership",
    ),
    path(
        "enterprises/<str:uscc>/recommended-products/",
        match_api.RecommendedProductsView.as_view(),
        name="api-enterprise-recommended-products",
    ),
    path(
        "enterprises/<str:uscc>/invitations/",
        enterprise_views.EnterpriseInvitationView.as_view(),
        name="api-enterprise-invitations",
    ),
    path("claims/", enterprise_views.ClaimListCreateView.as_view(), name="api-claims"),
    path(
        "claims/<int:pk>/approve/",
        enterprise_views.ClaimDecisionView.as_view(action="approve"),
        name="api-claim-approve",
    ),
    path(
        "claims/<int:pk>/reject/",
        enterprise_views.ClaimDecisionView.as_view(action="reject"),
        name="api-claim-reject",
    ),
    path(
        "claims/<int:pk>/withdraw/",
        enterprise_views.ClaimWithdrawView.as_view(),
        name="api-claim-withdraw",
    ),
    path(
        "credit-records/quality/",
        quality_views.CreditRecordQualityView.as_view(),
        name="api-credit-record-quality",
    ),
    path(
        "credit-records/batches/",
        record_views.CreditRecordBatchView.as_view(),
        name="api-credit-record-batches",
    ),
    path(
        "authorizations/",
        authorization_views.AuthorizationListCreateView.as_view(),
        name="api-authorizations",
    ),
    path(
        "authorizations/access-log/",
        authorization_views.AccessLogView.as_view(),
        name="api-access-log",
    ),
    path(
        "authorizations/<int:pk>/",
        authorization_views.AuthorizationDetailView.as_view(),
        name="api-authorization-detail",
    ),
    path(
        "authorizations/<int:pk>/revoke/",
        authorization_views.AuthorizationRevokeView.as_view(),
        name="api-authorization-revoke",
    ),
    path(
        "authorizations/<int:pk>/renew/",
        authorization_views.AuthorizationRenewView.as_view(),
        name="api-authorization-renew",
    ),
    path(
        "authorizations/<int:pk>/letter/",
        authorization_views.AuthorizationLetterView.as_view(),
        name="api-authorization-letter",
    ),
    path(
        "ledger/anchors/",
        authorization_views.LedgerAnchorsView.as_view(),
        name="api-ledger-anchors",
    ),
    path("ledger/", authorization_views.LedgerStatusView.as_view(), name="api-ledger"),
    path("products/", product_views.ProductListCreateView.as_view(), name="api-products"),
    path(
        "products/manage/",
        product_views.ProductManageListView.as_view(),
        name="api-products-manage",
    ),
    path(
        "products/manage/<int:pk>/",
        product_views.ProductManageDetailView.as_view(),
        name="api-product-manage-detail",
    ),
    path("products/<int:pk>/", product_views.ProductDetailView.as_view(), name="api-product"),
    path(
        "products/<int:pk>/matches/",
        match_api.ProductMatchesView.as_view(),
        name="api-product-matches",
    ),
    *[
        path(
            f"products/<int:pk>/{move}/",
            product_views.ProductMoveView.as_view(move=move),
            name=f"api-product-{move}",
        )
        for move in ("submit", "publish", "reject", "suspend", "resume", "retire")
    ],
    path(
        "applications/",
        application_views.ApplicationListCreateView.as_view(),
        name="api-applications",
    ),
    path(
        "applications/<int:pk>/",
        application_views.ApplicationDetailView.as_view(),
        name="api-application",
    ),
    path("demands/", application_views.DemandCreateView.as_view(), name="api-demands"),
    path(
        "products/<int:pk>/invitations/",
        invitation_api.ProductInviteView.as_view(),
        name="api-product-invite",
    ),
    path("invitations/", invitation_api.InvitationListView.as_view(), name="api-invitations"),
    *[
        path(
            f"invitations/<int:pk>/{move}/",
            invitation_api.InvitationMoveView.as_view(move=move),
            name=f"api-invitation-{move}",
        )
        for move in ("accept", "decline")
    ],
    path(
        "demands/preview/",
        application_views.DemandPreviewView.as_view(),
        name="api-demands-preview",
    ),
    path("lending/league/", league_api.LeagueView.as_view(), name="api-lending-league"),
    *[
        path(
            f"applications/<int:pk>/{slug}/",
            application_views.ApplicationMoveView.as_view(move=move),
            name=f"api-application-{slug}",
        )
        for slug, move in (
            ("accept", "accept"),
            ("contact", "contact"),
            ("start-review", "start_review"),
            ("approve", "approve"),
            ("reject", "reject"),
            ("disburse", "disburse"),
            ("close", "close"),
            ("withdraw", "withdraw"),
        )
    ],
    # recommended lists (推荐清单) and the demo receiver of the national platform
    path(
        "recommended-lists/",
        recommended_list_views.ListListCreateView.as_view(),
        name="api-recommended-lists",
    ),
    path(
        "recommended-lists/criteria/",
        recommended_list_views.CriteriaListCreateView.as_view(),
        name="api-recommended-list-criteria",
    ),
    path(
        "recommended-lists/criteria/<int:pk>/",
        recommended_list_views.CriteriaDetailView.as_view(),
        name="api-recommended-list-criteria-detail",
    ),
    path(
        "recommended-lists/allocated/",
        recommended_list_views.AllocatedEntriesView.as_view(),
        name="api-recommended-list-allocated",
    ),
    *[
        path(
            f"recommended-lists/allocated/<int:entry>/{move}/",
            recommended_list_views.FeedbackView.as_view(move=move),
            name=f"api-recommended-list-feedback-{move}",
        )
        for move in ("contact", "grant", "decline")
    ],
    path(
        "recommended-lists/<int:pk>/",
        recommended_list_views.ListDetailView.as_view(),
        name="api-recommended-list",
    ),
    path(
        "recommended-lists/<int:pk>/entries/",
        recommended_list_views.ListEntriesView.as_view(),
        name="api-recommended-list-entries",
    ),
    *[
        path(
            f"recommended-lists/<int:pk>/entries/<int:entry>/{move}/",
            recommended_list_views.EntryMoveView.as_view(move=move),
            name=f"api-recommended-list-entry-{move}",
        )
        for move in ("remove", "restore")
    ],
    path(
        "recommended-lists/<int:pk>/allocate/",
        recommended_list_views.ListAllocateView.as_view(),
        name="api-recommended-list-allocate",
    ),
    *[
        path(
            f"recommended-lists/<int:pk>/{move}/",
            recommended_list_views.ListMoveView.as_view(move=move),
            name=f"api-recommended-list-{move}",
        )
        for move in ("generate", "approve", "cancel", "push", "repush")
    ],
    path(
        "national/receive/",
        recommended_list_views.NationalReceiveView.as_view(),
        name="api-national-receive",
    ),
    path("banks/", bank_views.BankListCreateView.as_view(), name="api-banks"),
    path("banks/<int:pk>/", bank_views.BankDetailView.as_view(), name="api-bank-detail"),
    path(
        "banks/<int:pk>/invitations/",
        bank_views.BankInvitationView.as_view(),
        name="api-bank-invitations",
    ),
    path("calendar/days/", calendar_api.CalendarDaysView.as_view(), name="api-calendar-days"),
    path(
        "calendar/years/<int:year>/confirm/",
        calendar_api.CalendarYearConfirmView.as_view(),
        name="api-calendar-year-confirm",
    ),
    path(
        "notifications/",
        notification_api.NotificationListView.as_view(),
        name="api-notifications",
    ),
    path(
        "notifications/read-all/",
        notification_api.NotificationReadAllView.as_view(),
        name="api-notifications-read-all",
    ),
    path(
        "notifications/<int:pk>/read/",
        notification_api.NotificationReadView.as_view(),
        name="api-notification-read",
    ),
]
