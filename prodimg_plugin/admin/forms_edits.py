"""The intermediate form of the `edit_attributes` admin action."""
from __future__ import annotations

from django import forms

KEEP = "keep"


def label(value: str) -> str:
    """How a vocabulary value reads on the form ("navy-blue" -> "Navy Blue")."""
    return value.replace("-", " ").replace("_", " ").title()


class EditAttributesForm(forms.Form):
    """One choice per attribute the active model can edit: "keep" or one of the model's allowed values."""

    def __init__(self, *args, editable: dict[str, list[str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for attribute, values in (editable or {}).items():
            allowed = ", ".join(values).replace("%", "%%")
            invalid = f"%(value)s is not a {attribute} the model knows; allowed: {allowed}."
            self.fields[attribute] = forms.ChoiceField(
                label=label(attribute), initial=KEEP, required=False,
                choices=[(KEEP, "keep as it is")] + [(v, label(v)) for v in values],
                error_messages={"invalid_choice": invalid},
            )

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.fields and not self.target():
            raise forms.ValidationError("Choose at least one attribute to change.")
        return cleaned

    def target(self) -> dict[str, str]:
        """The attributes to change: every field not left on "keep"."""
        data = getattr(self, "cleaned_data", {})
        return {name: data[name] for name in self.fields if data.get(name) not in (None, "", KEEP)}
