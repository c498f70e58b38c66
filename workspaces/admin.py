"""Workspaces and their members in the admin; keys stay in the API keys section."""

from __future__ import annotations

from django.contrib import admin

from .models import Membership, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "personal_for", "created_at"]
    search_fields = ["name", "slug", "personal_for__username"]
    readonly_fields = ["personal_for", "created_at"]
    inlines = [MembershipInline]
