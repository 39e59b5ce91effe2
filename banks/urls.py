from django.urls import path

from banks import views

urlpatterns = [
    path("mine/", views.my_bank, name="my_bank"),
    path("invitations/<str:token>/", views.invitation_accept, name="bank_invitation_accept"),
    path("registry/", views.bank_registry, name="bank_registry"),
]
