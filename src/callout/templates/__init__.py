"""`{{ }}` references: parse them, resolve them against a run, check them before it.

```
reference.py     Reference, parse_reference: one plain path (trigger.data["name-first"][0])
template.py      Template, parse_template: literal text with {{ }} holes (cached)
resolve.py       Scope, lookup, resolve_value / resolve_text / resolve_url (run time)
budget.py        SizeBudget: resolution counts what it builds and stops past its limit
check.py         ReferenceRules, check_text / check_value, referenced_secrets (validation)
schema_paths.py  excluded_path: does a JSON Schema provably exclude a path?
```
No I/O here; this package imports only `callout.model`.
"""

from callout.templates.budget import SizeBudget
from callout.templates.check import (
    ReferenceRules,
    check_reference,
    check_text,
    check_value,
    json_path,
    referenced_secrets,
)
from callout.templates.reference import Reference, format_path, parse_reference
from callout.templates.resolve import Scope, lookup, resolve_text, resolve_url, resolve_value
from callout.templates.schema_paths import excluded_path
from callout.templates.template import Template, TemplateSyntaxError, parse_template

__all__ = [
    "Reference",
    "ReferenceRules",
    "Scope",
    "SizeBudget",
    "Template",
    "TemplateSyntaxError",
    "check_reference",
    "check_text",
    "check_value",
    "excluded_path",
    "format_path",
    "json_path",
    "lookup",
    "parse_reference",
    "parse_template",
    "referenced_secrets",
    "resolve_text",
    "resolve_url",
    "resolve_value",
]
