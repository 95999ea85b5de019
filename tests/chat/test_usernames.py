"""Username folding, look-alike keys and the backfill of keys for existing users."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import User

from chat.models import UsernameKey
from chat.usernames import username_fold, username_skeleton

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


@pytest.mark.parametrize(
    "name",
    ["alice", "ALICE", "\uff41\uff4c\uff49\uff43\uff45", "\u0430lice", "AL\u0130CE", "a1ice"],
)
def test_look_alikes_share_a_skeleton(name: str) -> None:
    assert username_skeleton(name) == username_skeleton("alice")


@pytest.mark.parametrize("name", ["alicia", "bob", "al", "malice"])
def test_other_names_do_not(name: str) -> None:
    assert username_skeleton(name) != username_skeleton("alice")


def test_fold_is_nfkc_case_folded() -> None:
    assert username_fold("\uff21LICE") == username_fold("Alice") == "alice"
    assert username_fold("Stra\u00dfe") == "strasse"


def test_backfill_keys_the_oldest_of_look_alikes() -> None:
    migration = importlib.import_module("chat.migrations.0005_usernamekey")
    alice = User.objects.create(username="alice")
    User.objects.create(username="ALICE")
    bob = User.objects.create(username="bob")
    # Users from before the migration: no keys (users saved now are keyed on save).
    UsernameKey.objects.all().delete()
    migration.backfill(apps, None)
    assert sorted(UsernameKey.objects.values_list("user_id", "folded", "skeleton")) == [
        (alice.pk, "alice", username_skeleton("alice")),
        (bob.pk, "bob", username_skeleton("bob")),
    ]
