"""Forms of the intermediate pages of prodimg's admin actions (variants, attribute edits, background)."""
from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.html import format_html, format_html_join

from ml.vocab import display_name
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation import backgrounds, colour_targets


class VariantOptionsForm(forms.Form):
    """Kind and count of variants; colours offered from the active GAN's vocabulary."""

    mode = forms.ChoiceField(choices=[("colourways", "Colourways (full resolution)"),
                                      ("design", "Design variations (low-resolution ideas, never shown in the shop)")],
                             initial="colourways")
    count = forms.IntegerField(min_value=1, initial=4)
    colours = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                        help_text="Colourways only. Leave empty to let the model pick.")
    strength = forms.FloatField(min_value=0.05, max_value=2.0, initial=0.5,
                                help_text="Design variations only: how far from the original to go.")

    targets = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 40, "placeholder": "#1F3A5F\nswatch 12 "
                                                                                             "40,60,20,20 on 1"}),
        help_text="Exact colours, one colourway per line (at most 4): a hex colour (#1F3A5F), a colour name, or "
                  "swatch &lt;product image id&gt; x,y,w,h (a rectangle of that photo's fabric); add “on 0,2” to "
                  "change those colour parts instead of the main colour. Overrides kind, count and colours.")

    def __init__(self, *args, colours: list[str] = (), parts: list | None = None, images=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.images = list(images)
        self.fields["count"].validators.append(MaxValueValidator(prodimg_settings.VARIANTS_MAX_COUNT))
        self.fields["count"].widget.attrs["max"] = prodimg_settings.VARIANTS_MAX_COUNT
        self.fields["colours"].choices = [(c, c) for c in colours]
        if parts:
            self.fields["targets"].help_text += parts_html(parts)

    def clean_targets(self) -> list[dict]:
        """The lines as target dicts (`generation.colour_targets.parse_lines`); their values are checked later,
        with the job's own check."""
        try:
            return colour_targets.parse_lines(self.cleaned_data.get("targets", ""))
        except colour_targets.TargetError as exc:
            raise forms.ValidationError(str(exc)) from None

    def job_arguments(self) -> dict:
        """`params.variant_params`'s arguments: with targets, the count follows them."""
        data = dict(self.cleaned_data)
        if data.get("targets"):
            data["count"] = None
        return {**data, "images": self.images}


def parts_html(parts: list) -> str:
    """Each image's colour parts as numbered swatches with their share of the product (the targets' "on N")."""
    def swatches(found) -> str:
        return format_html_join(" ", '<span style="white-space:nowrap"><span style="display:inline-block;'
                                     'width:1.1em;height:1.1em;vertical-align:middle;border:1px solid #888;'
                                     'background:{}"></span> {}: {}{} ({}&nbsp;%)</span>',
                                ((p.colour, p.index, p.colour, " main" if p.main else "", round(100 * p.share))
                                 for p in found)) or "no product found"
    rows = format_html_join("", "<li>{}: {}</li>", ((str(image), swatches(found)) for image, found in parts))
    return format_html("<br>Colour parts of the selected photos:<ul>{}</ul>", rows)


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
