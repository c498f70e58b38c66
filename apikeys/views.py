"""Settings > Developer pages for API keys."""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from . import selectors


def home(request: HttpRequest) -> HttpResponse:
    return redirect("developer")


@login_required
def developer(request: HttpRequest) -> HttpResponse:
    keys = selectors.key_list_for(owner_id=request.user.pk)
    return render(request, "apikeys/developer.html", {"keys": keys})
