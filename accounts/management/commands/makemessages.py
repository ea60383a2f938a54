"""Django's makemessages without msgmerge's fuzzy matching (issue 15): a new French string gets an
empty msgstr to translate, never a neighbour's translation marked fuzzy that a hurried merge could
ship. `make messages` runs it for ar and en."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
