"""The shipment pages with a real shipment (the access matrix only reaches the list and the
form), in Russian and Kazakh: no English text of the catalogue on them."""

from __future__ import annotations

import pytest

from lims.core.permissions import Role
from lims.logistics import shipments as service
from lims.samples.lifecycle import SampleStatus
from tests.conftest import FIXED_NOW
from tests.lims import test_translated_pages
from tests.lims.i18n_support import LANGUAGES
from tests.lims.logistics import shipment_fixtures
from tests.lims.logistics.shipment_fixtures import manifest_of, salt_samples
from tests.lims.test_translated_pages import english_segments, visible_text

# the fixtures of this room's shipment tests, found by pytest under these names
make_shipment, technician = shipment_fixtures.make_shipment, shipment_fixtures.technician
translated_app, translations = (test_translated_pages.translated_app,
                                 test_translated_pages.translations)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_shipment_pages_show_no_english(translated_app, client, session, login, make_user,
                                        make_cluster, make_shipment, technician, lang):
    cluster = make_cluster(name="Школа № 12")
    cluster.round.name = "Раунд 2026"  # fixture data in Cyrillic: English comes from the app
    samples = salt_samples(session, cluster, 3)
    shipment = make_shipment(cluster, courier="Казпочта", logger_id="ЛОГ-1")
    manifest_of(session, technician, shipment, samples[:2])
    service.scan(session, actor=technician, now=FIXED_NOW, shipment=shipment,
                 text=samples[0].accession)
    service.scan(session, actor=technician, now=FIXED_NOW, shipment=shipment,
                 text=samples[2].accession, receive_extra=True)
    service.record_arrival(session, actor=technician, now=FIXED_NOW, shipment=shipment,
                           temperature_c=None, logger_excursion=True,
                           excursion_details="выше 8 °C 10 часов")
    closed = make_shipment(cluster, courier="Казпочта")
    manifest_of(session, technician, closed, salt_samples(session, cluster, 1))
    service.close_shipment(session, actor=technician, now=FIXED_NOW, shipment=closed,
                           missing_reason="не упакована", extra_reason=None, damaged={})
    user = make_user(Role.TECHNICIAN, full_name="Айгуль Серикова")
    session.commit()
    login(user)
    client.post("/language", data={"language": lang, "next": "/"})
    segments = english_segments(lang)
    base = "/logistics/shipments"
    for url in (f"{base}/", f"{base}/new", f"{base}/{shipment.id}", f"{base}/{shipment.id}/receive",
                f"{base}/{closed.id}", f"{base}/{closed.id}/receive", "/"):
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.get_data(as_text=True))
        leaks = sorted({m.group(0) for pattern in segments for m in [pattern.search(text)] if m})
        assert not leaks, f"English on {url} ({lang}): {leaks}"
    assert samples[1].status is SampleStatus.REGISTERED
