"""Dependencies point one way: catalog <- accounts <- billing. Every module of accounts and catalog
is imported and its source parsed: no import of billing anywhere (function-local ones included).
Catalog uses nothing of accounts but the audit trail (recording who changed a price), pinned
below so that no other use can creep in."""

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import accounts
import catalog

FORBIDDEN = {"accounts": {"billing"}, "catalog": {"billing"}}
# The audit trail's entry points: what catalog may take from accounts, and nothing else.
CATALOG_USES_OF_ACCOUNTS = {
    ("accounts.audit", "audit_record"),
    ("accounts.audit", "form_changes"),
    ("accounts.models", "AuditEvent"),
    ("accounts.models", "User"),
}


def top_level_imports(source: str) -> set[str]:
    """The top-level packages a source imports, wherever the statement is (relative imports stay
    inside their own package and are left out)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def imported_names(source: str, package: str) -> set[tuple[str, str]]:
    """(module, name) of every import of `package` or its modules in a source."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update((a.name, "") for a in node.names if a.name.split(".")[0] == package)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module.split(".")[0] == package
        ):
            found.update((node.module, alias.name) for alias in node.names)
    return found


def _modules(package) -> list[str]:
    prefix = f"{package.__name__}."
    return [package.__name__, *(m.name for m in pkgutil.walk_packages(package.__path__, prefix))]


MODULES = [
    (app, name)
    for app, package in (("accounts", accounts), ("catalog", catalog))
    for name in _modules(package)
]


def test_every_module_of_accounts_and_catalog_is_checked():
    names = {name for _, name in MODULES}

    assert {"accounts.selectors", "accounts.admin.customers", "catalog.selectors"} <= names
    assert any(name.startswith("accounts.migrations.") for name in names)


@pytest.mark.parametrize(("app", "module_name"), MODULES, ids=[name for _, name in MODULES])
def test_module_imports_nothing_from_the_apps_above_it(app, module_name):
    module = importlib.import_module(module_name)

    imported = top_level_imports(Path(module.__file__).read_text(encoding="utf-8"))

    assert not imported & FORBIDDEN[app], f"{module_name} imports {imported & FORBIDDEN[app]}"


def test_catalog_takes_nothing_from_accounts_but_the_audit_trail():
    uses = set()
    for app, module_name in MODULES:
        if app == "catalog":
            source = Path(importlib.import_module(module_name).__file__).read_text("utf-8")
            uses |= imported_names(source, "accounts")

    assert uses <= CATALOG_USES_OF_ACCOUNTS, uses - CATALOG_USES_OF_ACCOUNTS


def test_a_function_local_import_is_seen():
    source = (
        "from .models import Account\n"
        "def f():\n"
        "    from billing.models import Invoice\n"
        "    import catalog.pricing as pricing\n"
    )

    assert top_level_imports(source) == {"billing", "catalog"}
    assert imported_names(source, "billing") == {("billing.models", "Invoice")}
