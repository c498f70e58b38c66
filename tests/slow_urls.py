"""The project's URLs plus a view that takes its time, to stop a server in the middle of a request."""

import time

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as project_urls

SECONDS = 2.0


class Slow(APIView):
    def get(self, request):
        time.sleep(SECONDS)
        return Response({"slept": SECONDS})


urlpatterns = [
    path("api/v1/slow", Slow.as_view()),
    path("", include(project_urls)),
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500
