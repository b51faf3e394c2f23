"""A valid workflow document that tests change one field at a time."""

from __future__ import annotations

from typing import Any

VALID: dict[str, Any] = {
    "name": "Create the user",
    "trigger": {"event": "inquiry.completed", "schema": {"type": "object"}},
    "steps": [
        {
            "id": "create_user",
            "action": "make_https_request",
            "url": "https://crm.example.com/users",
            "method": "POST",
            "body": {"email": "{{ trigger.data.email }}"},
            "headers": [{"key": "Authorization", "value": "Bearer {{ secrets.crm_token }}"}],
            "response_schema": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}},
                "additionalProperties": False,
            },
            "secret": "{{ secrets.crm_signing }}",
            "retry_intervals": [5, 60, 600],
            "timeout": 10,
            "continue_on_error": False,
        },
        {
            "id": "tag_user",
            "action": "make_https_request",
            "url": "https://crm.example.com/users/{{ steps.create_user.body.id }}/tags",
            "method": "PUT",
            "body": {"tags": ["verified"]},
        },
    ],
}
