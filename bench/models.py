"""The log table of the drf-api-tracking design: one synchronous INSERT per request."""

from django.conf import settings
from django.db import models


class RequestLog(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(db_index=True)
    response_ms = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=200, db_index=True)
    view = models.CharField(max_length=200, null=True, db_index=True)
    view_method = models.CharField(max_length=200, null=True, db_index=True)
    remote_addr = models.GenericIPAddressField()
    host = models.URLField()
    method = models.CharField(max_length=10)
    query_params = models.TextField(null=True)
    data = models.TextField(null=True)
    response = models.TextField(null=True)
    errors = models.TextField(null=True)
    status_code = models.PositiveIntegerField(null=True, db_index=True)
