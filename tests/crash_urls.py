"""A URLconf with a view that fails, to prove that server errors are recorded and enveloped."""

from django.urls import include, path
from rest_framework.views import APIView

from config import urls as project_urls


class Crash(APIView):
    def get(self, request):
        raise RuntimeError("boom")


urlpatterns = [
    path("api/v1/crash", Crash.as_view()),
    path("", include(project_urls)),
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500
