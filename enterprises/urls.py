from django.urls import path

from enterprises import authorization_views, import_views, quality_views, views

urlpatterns = [
    path("uscc/", views.uscc_check_page, name="uscc_check_page"),
    path("claim/", views.claim_create, name="enterprise_claim"),
    path("claims/", views.claim_list, name="claim_list"),
    path("claims/<int:pk>/withdraw/", views.claim_withdraw, name="claim_withdraw"),
    path("mine/", views.my_enterprise, name="my_enterprise"),
    path("mine/members/<int:pk>/remove/", views.member_remove, name="enterprise_member_remove"),
    path("invitations/<str:token>/", views.invitation_accept, name="enterprise_invitation_accept"),
    path("registry/", views.registry, name="enterprise_registry"),
    path("registry/<str:uscc_code>/", views.enterprise_detail, name="enterprise_detail"),
    path("registry/<str:uscc_code>/portrait/", views.portrait_page, name="enterprise_portrait"),
    path("registry/<str:uscc_code>/reason/", views.access_reason, name="enterprise_access_reason"),
    path("office/claims/", views.office_claims, name="office_claims"),
    path("office/claims/<int:pk>/", views.office_claim_decide, name="office_claim_decide"),
    path("quality/", quality_views.data_quality, name="data_quality"),
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("authorizations/", authorization_views.authorization_list, name="authorization_list"),
    path(
        "authorizations/new/",
        authorization_views.authorization_create,
        name="authorization_create",
    ),
    path(
        "authorizations/<int:pk>/",
        authorization_views.authorization_detail,
        name="authorization_detail",
    ),
    path(
        "authorizations/<int:pk>/letter.pdf",
        authorization_views.authorization_letter,
        name="authorization_letter",
    ),
    path(
        "authorizations/<int:pk>/revoke/",
        authorization_views.authorization_revoke,
        name="authorization_revoke",
    ),
    path(
        "authorizations/<int:pk>/renew/",
        authorization_views.authorization_renew,
        name="authorization_renew",
    ),
    path("access-log/", authorization_views.access_log, name="enterprise_access_log"),
]
