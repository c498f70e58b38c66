"""Sign-in and sign-out at /accounts/, with Django's auth views."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .forms import ThrottledAuthenticationForm

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
