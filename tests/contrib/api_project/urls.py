"""The API project's views: one open, one for any valid token, and scope-guarded ones."""

from django.urls import path

from tests.contrib.api_project import views

urlpatterns = [
    path("open", views.Open.as_view()),
    path("whoami", views.WhoAmI.as_view()),
    path("api1", views.NeedsApi1.as_view()),
    path("api2", views.NeedsApi2ReadOnly.as_view()),
    path("either", views.NeedsEither.as_view()),
]
