from django.urls import path

from . import team_views, views

# Mounted with billing's espace-client pages under the one "accounts" namespace (iafactory/urls.py).
app_name = "accounts"
urlpatterns = [
    path("espace-client/coordonnees/", views.coordonnees, name="coordonnees"),
    path("espace-client/equipe/", team_views.team, name="team"),
    path("espace-client/equipe/inviter/", team_views.team_invite, name="team_invite"),
    path("espace-client/equipe/quitter/", team_views.team_leave, name="team_leave"),
    path(
        "espace-client/equipe/invitations/<int:pk>/retirer/",
        team_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("espace-client/equipe/membres/<int:pk>/role/", team_views.member_role, name="member_role"),
    path(
        "espace-client/equipe/membres/<int:pk>/retirer/",
        team_views.member_remove,
        name="member_remove",
    ),
    path(
        "espace-client/equipe/membres/<int:pk>/titulaire/",
        team_views.ownership_transfer_view,
        name="ownership_transfer",
    ),
    path("espace-client/journal/", team_views.audit, name="audit"),
    path("espace-client/compte/", team_views.switch, name="switch"),
    path("invitation/<str:token>/", team_views.invitation, name="invitation"),
    path("langue/", views.language_set, name="language"),
]
