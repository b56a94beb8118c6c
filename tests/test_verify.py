"""SNS signature verification (docs/sources/sns-https.md), in-process: rules, tampering, genuine AWS messages."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from mailfate.core.timestamps import parse_timestamp
from mailfate.errors import (
    CertificateInvalid,
    CertificateUnavailable,
    CertificateUrlRejected,
    PayloadError,
    SignatureInvalid,
    TopicNotAllowed,
    VerificationError,
)
from mailfate.sns.certs import CertificateCache
from mailfate.sns.envelope import check_cert_url, check_subscribe_url, parse_topic, sns_message
from mailfate.sns.verify import Verifier
from mailfate.testing import event, sns_envelope

from .conftest import GENUINE
from .support import TOPIC, Signer, confirmation

MANIFEST = json.loads((GENUINE / "manifest.json").read_text())


def no_network(url: str) -> bytes:
    raise AssertionError(f"tried to download {url}")


def verifier(signer: Signer, topics: list[str] | None = None, fetch: Any = no_network) -> Verifier:
    return Verifier(CertificateCache(fetch=fetch, certs_dir=signer.folder), topics if topics is not None else [TOPIC])


def notification() -> dict[str, Any]:
    return sns_envelope(event("Delivery", "m-1", ["a@example.com"], "2026-11-20T10:00:00Z"), topic_arn=TOPIC)


class TestGenuineMessages:
    @pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
    def test_verifies_at_its_own_time(self, entry: dict[str, str]) -> None:
        """All twenty AWS-signed messages verify with the clock set to their Timestamp."""
        message = sns_message(json.loads((GENUINE / entry["file"]).read_text()))
        clock = parse_timestamp(entry["verify_at"])
        cache = CertificateCache(fetch=no_network, certs_dir=GENUINE / "certs")
        Verifier(cache, clock=lambda: clock).verify(message)
        assert message.signature_version == entry["signature_version"]

    @pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
    def test_refused_today(self, entry: dict[str, str]) -> None:
        """Their certificates have expired: with today's clock every one is refused."""
        message = sns_message(json.loads((GENUINE / entry["file"]).read_text()))
        cache = CertificateCache(fetch=no_network, certs_dir=GENUINE / "certs")
        with pytest.raises(CertificateInvalid, match=r"valid .* not at"):
            Verifier(cache).verify(message)

    @pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "TopicArn"])
    def test_genuine_message_tampered(self, field: str) -> None:
        entry = next(e for e in MANIFEST if e["file"] == "django-ses-identity-bounce.json")
        envelope = json.loads((GENUINE / entry["file"]).read_text())
        envelope[field] = envelope[field].replace("1", "2", 1)
        clock = parse_timestamp(entry["verify_at"])
        cache = CertificateCache(fetch=no_network, certs_dir=GENUINE / "certs")
        with pytest.raises(VerificationError):  # SignatureInvalid, or for TopicArn the region changes too
            Verifier(cache, clock=lambda: clock).verify(sns_message(envelope))


class TestSignatures:
    @pytest.mark.parametrize("version", ["1", "2"])
    def test_both_versions(self, signer: Signer, version: str) -> None:
        verifier(signer).verify(sns_message(signer.sign(notification(), version)))

    def test_unknown_version(self, signer: Signer) -> None:
        signed = signer.sign(notification(), "2")
        signed["SignatureVersion"] = "3"
        with pytest.raises(SignatureInvalid, match="neither 1 nor 2"):
            verifier(signer).verify(sns_message(signed))

    def test_sha1_signature_labelled_version_2(self, signer: Signer) -> None:
        signed = signer.sign(notification(), "1")
        signed["SignatureVersion"] = "2"
        with pytest.raises(SignatureInvalid):
            verifier(signer).verify(sns_message(signed))

    @pytest.mark.parametrize("field", ["Message", "MessageId", "Subject", "Timestamp", "Type"])
    def test_each_signed_field_of_a_notification(self, signer: Signer, field: str) -> None:
        """Changing any signed field after signing breaks the signature."""
        signed = signer.sign(notification())
        signed[field] = "Notification " if field == "Type" else signed[field] + "x"
        with pytest.raises((SignatureInvalid, PayloadError)):
            verifier(signer).verify(sns_message(signed))

    def test_removing_the_subject(self, signer: Signer) -> None:
        signed = signer.sign(notification())
        del signed["Subject"]
        with pytest.raises(SignatureInvalid):
            verifier(signer).verify(sns_message(signed))

    @pytest.mark.parametrize("field", ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token"])
    def test_each_signed_field_of_a_confirmation(self, signer: Signer, field: str) -> None:
        signed = signer.sign(confirmation())
        signed[field] = signed[field] + "0"
        with pytest.raises(SignatureInvalid):
            verifier(signer).verify(sns_message(signed))

    def test_signature_not_base64(self, signer: Signer) -> None:
        signed = signer.sign(notification())
        signed["Signature"] = "not base64!"
        with pytest.raises(SignatureInvalid, match="base64"):
            verifier(signer).verify(sns_message(signed))

    def test_another_key(self, signer: Signer, tmp_path: Path) -> None:
        """A certificate that is not the one the message was signed with."""
        other = Signer(tmp_path / "other")
        signed = other.sign(notification())
        with pytest.raises(SignatureInvalid):
            verifier(signer).verify(sns_message(signed))


class TestCertificates:
    def test_expired_and_not_yet_valid(self, signer: Signer) -> None:
        now = dt.datetime.now(dt.UTC)
        name_old = "SimpleNotificationService-00000000000000000000000000000001.pem"
        name_new = "SimpleNotificationService-00000000000000000000000000000002.pem"
        signer.write_certificate(name_old, now - dt.timedelta(days=60), now - dt.timedelta(days=1))
        signer.write_certificate(name_new, now + dt.timedelta(days=1), now + dt.timedelta(days=60))
        for name in (name_old, name_new):
            with pytest.raises(CertificateInvalid):
                verifier(signer).verify(sns_message(signer.sign(notification(), cert_url=signer.cert_url(name=name))))

    def test_certificate_for_another_name(self, signer: Signer) -> None:
        name = "SimpleNotificationService-00000000000000000000000000000003.pem"
        signer.write_certificate(name, dns_name="evil.example.com")
        with pytest.raises(CertificateInvalid, match="SNS signing name"):
            verifier(signer).verify(sns_message(signer.sign(notification(), cert_url=signer.cert_url(name=name))))

    def test_download_failure_is_not_cached(self, signer: Signer) -> None:
        """A failed download is retried on the next message (django-ses cached failures until restart)."""
        calls: list[str] = []
        pem = (signer.folder / signer.cert_name).read_bytes()

        def flaky(url: str) -> bytes:
            calls.append(url)
            if len(calls) == 1:
                raise CertificateUnavailable("connection reset")
            return pem

        cache = CertificateCache(fetch=flaky)  # no pinned folder: downloads
        check = Verifier(cache, [TOPIC])
        message = sns_message(signer.sign(notification()))
        with pytest.raises(CertificateUnavailable):
            check.verify(message)
        check.verify(message)
        check.verify(message)
        assert len(calls) == 2

    def test_cache_is_bounded_and_expires(self, signer: Signer) -> None:
        pem = (signer.folder / signer.cert_name).read_bytes()
        clock = [0.0]
        cache = CertificateCache(fetch=lambda url: pem, max_size=3, ttl=60, clock=lambda: clock[0])
        urls = [signer.cert_url(name=f"SimpleNotificationService-{i:032x}.pem") for i in range(5)]
        for url in urls:
            cache.get(url)
        assert len(cache) == 3
        assert cache.cached(urls[0]) is None
        assert cache.cached(urls[4]) is not None
        clock[0] = 61
        assert cache.cached(urls[4]) is None


CERT_URLS = {
    "http scheme": "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123abcd.pem",
    "other host": "https://example.com/SimpleNotificationService-0123abcd.pem",
    "s3 bucket under amazonaws.com": "https://sns.s3.amazonaws.com/SimpleNotificationService-0123abcd.pem",
    "look-alike suffix": "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-0123abcd.pem",
    "look-alike dash": "https://sns-us-east-1.amazonaws.com/SimpleNotificationService-0123abcd.pem",
    "another region than the topic": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem",
    "explicit port": "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-0123abcd.pem",
    "userinfo": "https://user:pw@sns.us-east-1.amazonaws.com/SimpleNotificationService-0123abcd.pem",
    "query": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123abcd.pem?x=.pem",
    "fragment": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123abcd.pem#x",
    "another path": "https://sns.us-east-1.amazonaws.com/certs/SimpleNotificationService-0123abcd.pem",
    "another file name": "https://sns.us-east-1.amazonaws.com/evil.pem",
    "upper-case hex": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123ABCD.pem",
    "traversal": "https://sns.us-east-1.amazonaws.com/../SimpleNotificationService-0123abcd.pem",
    "loopback": "https://127.0.0.1/SimpleNotificationService-0123abcd.pem",
}


class TestUrlRules:
    @pytest.mark.parametrize("case", list(CERT_URLS))
    def test_cert_url_refused(self, case: str) -> None:
        with pytest.raises(CertificateUrlRejected):
            check_cert_url(CERT_URLS[case], parse_topic(TOPIC))

    @pytest.mark.parametrize(
        ("topic", "url"),
        [
            (TOPIC, "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"),
            ("arn:aws-cn:sns:cn-north-1:123456789012:t", "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-ab.pem"),
            ("arn:aws-us-gov:sns:us-gov-west-1:123456789012:t", "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-ab.pem"),
        ],
    )  # fmt: skip
    def test_cert_url_accepted(self, topic: str, url: str) -> None:
        check_cert_url(url, parse_topic(topic))

    def test_a_url_found_good_is_good_only_for_its_own_region(self) -> None:
        """A good URL is remembered (checking it again costs a sixth of a verification), per region."""
        url = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
        for _ in range(2):
            check_cert_url(url, parse_topic(TOPIC))
            with pytest.raises(CertificateUrlRejected):
                check_cert_url(url, parse_topic("arn:aws:sns:eu-west-1:123456789012:t"))
        for case in CERT_URLS.values():  # refusals are never remembered as good
            with pytest.raises(CertificateUrlRejected):
                check_cert_url(case, parse_topic(TOPIC))

    def test_refused_url_is_never_fetched(self, signer: Signer) -> None:
        """The URL rule is checked before anything is downloaded."""
        for url in CERT_URLS.values():
            signed = signer.sign(notification(), cert_url=url)
            with pytest.raises(CertificateUrlRejected):
                verifier(signer, fetch=no_network).verify(sns_message(signed))

    def test_topic_not_allowed(self, signer: Signer) -> None:
        with pytest.raises(TopicNotAllowed):
            verifier(signer, ["arn:aws:sns:us-east-1:123456789012:other"]).verify(
                sns_message(signer.sign(notification()))
            )

    def test_malformed_topic(self) -> None:
        with pytest.raises(VerificationError):
            parse_topic("arn:aws:s3:::bucket")

    @pytest.mark.parametrize(
        "url",
        [
            "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={t}&Token={k}",
            "https://127.0.0.1/?Action=ConfirmSubscription&TopicArn={t}&Token={k}",
            "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn={t}&Token={k}",
            "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&TopicArn={t}&Token={k}",
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={t}:other&Token={k}",
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={t}&Token=other",
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={t}&Token={k}&Next=x",
            "https://sns.us-east-1.amazonaws.com/redirect?Action=ConfirmSubscription&TopicArn={t}&Token={k}",
            "https://sns.us-east-1.amazonaws.com:8443/?Action=ConfirmSubscription&TopicArn={t}&Token={k}",
        ],
    )
    def test_subscribe_url_refused(self, url: str) -> None:
        message = sns_message(confirmation())
        with pytest.raises(CertificateUrlRejected):
            check_subscribe_url(url.format(t=TOPIC, k=message.token), message)

    def test_subscribe_url_accepted(self) -> None:
        message = sns_message(confirmation())
        check_subscribe_url(message.subscribe_url or "", message)
