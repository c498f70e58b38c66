from django.urls import path

from . import views

urlpatterns = [
    path("settings/workspace/", views.switch, name="workspace-switch"),
    path("settings/workspace/new/", views.workspace_new, name="workspace-new"),
]
