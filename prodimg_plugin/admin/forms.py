"""Admin forms for the intermediate pages of prodimg's actions."""
from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator

from prodimg_plugin.conf import prodimg_settings


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
        ("transparent", "Transparent (PNG / WebP with alpha)"), ("white", "White"),
        (COLOUR, "A colour (below)"), ("shadow", "White with a soft contact shadow")])
    colour = forms.CharField(required=False, max_length=7, strip=True, initial="#f4f4f4",
                             widget=forms.TextInput(attrs={"placeholder": "#f4f4f4", "size": 8}),
                             help_text="Hex colour, e.g. #f4f4f4, when “A colour” is chosen.")

    def clean(self) -> dict:
        """Checks the choice with `services.enhance.background_param` (the API's and the job's check too)."""
        from prodimg_plugin.generation.enhance import KEEP, background_param

        cleaned = super().clean()
        use_colour = cleaned.get("background") == self.COLOUR
        field = "colour" if use_colour else "background"
        try:
            value = background_param(cleaned.get(field) or "")
        except ValueError as exc:
            raise forms.ValidationError({field: str(exc)}) from None
        if value == KEEP:
            raise forms.ValidationError({field: "Give a colour like #f4f4f4."})
        cleaned["value"] = value
        return cleaned
