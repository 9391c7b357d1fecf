"""Admin forms for the intermediate pages of prodimg's actions."""
from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator

from .conf import prodimg_settings


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
