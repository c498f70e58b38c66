"""Settings > Developer pages for API keys."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/developer/", views.developer, name="developer"),
]
