from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from banks.urls import market_urlpatterns
from enterprises import authorization_views
from xinyidai import views
from xinyidai.core import calendar_views, notification_views

# The admin signs in through allauth, so the superuser gets the same second factor.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("xinyidai.api.urls")),
    path("enterprises/", include("enterprises.urls")),
    path("banks/", include("banks.urls")),
    path("market/", include(market_urlpatterns)),
    path("loans/", include("lending.urls")),
    path("ledger/", authorization_views.ledger_anchors, name="ledger_anchors"),
    path("ledger/verify/", authorization_views.ledger_verify_now, name="ledger_verify_now"),
    path("office/calendar/", calendar_views.calendar_year, name="calendar_year"),
    path("notifications/", notification_views.notification_list, name="notification_list"),
    path(
        "notifications/read-all/",
        notification_views.notification_read_all,
        name="notification_read_all",
    ),
    path(
        "notifications/<int:pk>/open/",
        notification_views.notification_open,
        name="notification_open",
    ),
]

handler403 = "xinyidai.views.permission_denied"
handler404 = "xinyidai.views.page_not_found"
handler500 = "xinyidai.views.server_error"

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
