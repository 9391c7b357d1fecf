"""One registry idiom for the kind tables; names that hosts may already use keep working."""
import pytest
from django.test import override_settings

from prodimg_plugin import signals
from prodimg_plugin.kinds import (
    AlreadyRegistered,
    ModelKind,
    NotRegistered,
    Registry,
    evaluations,
    job_handlers,
    model_kinds,
    trainable,
)


def test_a_name_registered_twice_is_refused_and_an_unknown_one_names_the_known():
    table = Registry("widget")
    table.register("a", object())
    with pytest.raises(AlreadyRegistered, match="widget 'a' is already registered"):
        table.register("a", object())
    with pytest.raises(NotRegistered, match=r"no widget 'b' is registered \(registered: a\)"):
        table.get("b")
    table.unregister("a")
    with pytest.raises(NotRegistered):
        table.unregister("a")


def test_entries_may_be_dotted_paths_imported_on_use_and_register_works_as_a_decorator():
    table = Registry("handler")
    table.register("sqrt", "math.sqrt")
    assert table.get("sqrt")(9) == 3

    @table.register("double")
    def double(x):
        return 2 * x

    assert table.get("double") is double and table.names() == ["double", "sqrt"]


def test_replaced_swaps_an_entry_for_a_block_and_puts_it_back():
    table = Registry("thing")
    table.register("a", 1)
    with table.replaced("a", 2), table.replaced("new", 3):
        assert (table.get("a"), table.get("new")) == (2, 3)
    assert table.get("a") == 1 and "new" not in table


def test_the_built_in_kinds_are_registered_once_by_the_app():
    assert {"gan", "cvae", "sr", "mask", "evaluator"} <= set(model_kinds.names())
    assert set(trainable()) >= {"gan", "cvae", "sr", "mask"} and "evaluator" not in trainable()
    assert set(job_handlers.names()) >= {"variants", "edits", "enhance"}
    assert set(evaluations.names()) >= {"gan", "cvae", "recommender"}
    with pytest.raises(AlreadyRegistered):
        model_kinds.register("gan", ModelKind("ml.variants.VariantGenerator"))
    assert model_kinds.get("mask").loader_class().__name__ == "ProductMasker"


@pytest.mark.django_db
def test_hosts_settings_may_still_name_the_old_recommender_path():
    from prodimg_plugin.storefront import personalize
    from prodimg_plugin.storefront.recommenders import ThompsonRecommender

    with override_settings(PRODIMG={**_prodimg(), "RECOMMENDER": "prodimg_plugin.recommenders.ThompsonRecommender"}):
        personalize.reset()
        assert isinstance(personalize.get_recommender(), ThompsonRecommender)
    personalize.reset()


def test_the_old_signal_name_is_the_finished_job_signal():
    assert signals.variants_generated is signals.images_generated


def _prodimg() -> dict:
    from django.conf import settings

    return dict(settings.PRODIMG)
