from django.urls import path

from lending import invitation_views, league_views, match_views, views

urlpatterns = [
    path("", views.application_list, name="application_list"),
    path("demands/new/", views.demand_create, name="demand_create"),
    path("league/", league_views.league_table, name="lending_league"),
    path("punishments/", views.punishment_list, name="punishment_list"),
    path("recommended/", match_views.recommended_products, name="recommended_products"),
    path("invitations/", invitation_views.invitation_list, name="invitation_list"),
    path(
        "invitations/<int:pk>/<slug:move>/",
        invitation_views.invitation_move,
        name="invitation_move",
    ),
    path("<int:pk>/", views.application_detail, name="application_detail"),
    path("<int:pk>/<slug:move>/", views.application_move, name="application_move"),
]
