"""Forms of the intermediate pages of prodimg's admin actions (variants, attribute edits, background)."""
from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator

from ml.vocab import display_name
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation import backgrounds


class VariantOptionsForm(forms.Form):
    """Kind and count of variants; colours offered from the active GAN's vocabulary."""

    mode = forms.ChoiceField(choices=[("colourways", "Colourways (full resolution)"),
                                      ("design", "Design variations (model resolution, upscaled)")],
                             initial="colourways")
    count = forms.IntegerField(min_value=1, initial=4)
    colours = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                        help_text="Colourways only. Leave empty to let the model pick.")
    strength = forms.FloatField(min_value=0.05, max_value=2.0, initial=0.5,
                                help_text="Design variations only: how far from the original to go.")

    def __init__(self, *args, colours: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["count"].validators.append(MaxValueValidator(prodimg_settings.VARIANTS_MAX_COUNT))
        self.fields["count"].widget.attrs["max"] = prodimg_settings.VARIANTS_MAX_COUNT
        self.fields["colours"].choices = [(c, c) for c in colours]


class BackgroundForm(forms.Form):
    """The background the `remove_background` action puts the cut-out product on."""

    COLOUR = "colour"

    background = forms.ChoiceField(widget=forms.RadioSelect, initial="transparent", choices=[
        (value, label) if value != backgrounds.COLOUR else ("colour", f"{label} (below)")
        for value, label in backgrounds.BACKGROUNDS.items() if value != backgrounds.KEEP])
    colour = forms.CharField(required=False, max_length=7, strip=True, initial="#f4f4f4",
                             widget=forms.TextInput(attrs={"placeholder": "#f4f4f4", "size": 8}),
                             help_text="Hex colour, e.g. #f4f4f4, when “A colour” is chosen.")

    def clean(self) -> dict:
        """Checks the choice with `backgrounds.background_param` (the API's and the job's check too)."""
        cleaned = super().clean()
        use_colour = cleaned.get("background") == self.COLOUR
        field = "colour" if use_colour else "background"
        try:
            value = backgrounds.background_param(cleaned.get(field) or "")
        except ValueError as exc:
            raise forms.ValidationError({field: str(exc)}) from None
        if value == backgrounds.KEEP:
            raise forms.ValidationError({field: "Give a colour like #f4f4f4."})
        cleaned["value"] = value
        return cleaned


KEEP_AS_IT_IS = "keep"  # the edit form's choice for an attribute left alone


class EditAttributesForm(forms.Form):
    """One choice per attribute the active model can edit: "keep" or one of the model's allowed values."""

    def __init__(self, *args, editable: dict[str, list[str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for attribute, values in (editable or {}).items():
            allowed = ", ".join(values).replace("%", "%%")
            invalid = f"%(value)s is not a {attribute} the model knows; allowed: {allowed}."
            self.fields[attribute] = forms.ChoiceField(
                label=display_name(attribute), initial=KEEP_AS_IT_IS, required=False,
                choices=[(KEEP_AS_IT_IS, "keep as it is")] + [(v, display_name(v)) for v in values],
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
        return {name: data[name] for name in self.fields if data.get(name) not in (None, "", KEEP_AS_IT_IS)}
