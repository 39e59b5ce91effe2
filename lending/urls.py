from django.urls import path

from lending import invitation_views, league_views, match_views, views
from lending import list_views as reclist_views

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
    # recommended lists (推荐清单)
    path("lists/", reclist_views.list_index, name="reclist_list"),
    path("lists/new/", reclist_views.list_create, name="reclist_create"),
    path("lists/criteria/", reclist_views.criteria_list, name="reclist_criteria"),
    path("lists/criteria/new/", reclist_views.criteria_edit, name="reclist_criteria_create"),
    path("lists/criteria/<int:pk>/", reclist_views.criteria_edit, name="reclist_criteria_edit"),
    path("lists/bank/", reclist_views.bank_entries, name="reclist_bank_entries"),
    path("lists/entries/<int:entry>/", reclist_views.entry_feedback, name="reclist_feedback"),
    path("lists/<int:pk>/", reclist_views.list_detail, name="reclist_detail"),
    path("lists/<int:pk>/allocate/", reclist_views.list_allocate, name="reclist_allocate"),
    path(
        "lists/<int:pk>/entries/<int:entry>/<slug:move>/",
        reclist_views.entry_move,
        name="reclist_entry_move",
    ),
    path("lists/<int:pk>/<slug:move>/", reclist_views.list_move, name="reclist_move"),
    path("<int:pk>/", views.application_detail, name="application_detail"),
    path("<int:pk>/<slug:move>/", views.application_move, name="application_move"),
]
