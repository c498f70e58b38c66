"""The product's URLs plus one route per benchmarked design.

The Keyfence routes lie under the API prefix, so the usage-log middleware records them; the others
do not, as they bring their own logging or none.
"""

from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

from .views import VIEWS

PATHS = {name: f"/bench/{name}" for name in VIEWS}
PATHS["keyfence"] = "/api/bench/keyfence"
PATHS["keyfence_is_authenticated"] = "/api/bench/keyfence_is_authenticated"

urlpatterns = [path(p.lstrip("/"), VIEWS[name].as_view()) for name, p in PATHS.items()] + product_urlpatterns
