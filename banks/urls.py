from django.urls import path

from banks import product_views, views
from lending import match_views
from lending import views as application_views

urlpatterns = [
    path("mine/", views.my_bank, name="my_bank"),
    path("invitations/<str:token>/", views.invitation_accept, name="bank_invitation_accept"),
    path("registry/", views.bank_registry, name="bank_registry"),
    path("products/", product_views.product_manage_list, name="product_manage_list"),
    path("products/new/", product_views.product_create, name="product_create"),
    path("products/<int:pk>/", product_views.product_manage_detail, name="product_manage_detail"),
    path("products/<int:pk>/edit/", product_views.product_edit, name="product_edit"),
    # before the move pattern, which would take "matches" for a move
    path("products/<int:pk>/matches/", match_views.product_matches, name="product_matches"),
    path("products/<int:pk>/invite/", match_views.product_invite, name="product_invite"),
    path("products/<int:pk>/<slug:move>/", product_views.product_move, name="product_move"),
]

# The public marketplace (金融产品超市), mounted at /market/ by xinyidai/urls.py.
market_urlpatterns = [
    path("", product_views.market, name="market"),
    path("<int:pk>/", product_views.market_product, name="market_product"),
    path("<int:pk>/apply/", application_views.application_create, name="application_create"),
]
