"""The one way this system talks to Temporal: pydantic payloads, encrypted before they leave the process."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime

from predeparture.codec import EncryptionCodec
from predeparture.keys import load_or_create_key
from predeparture.settings import Settings


def data_converter(key_id: str, key: bytes, previous_keys: Mapping[str, bytes] | None = None) -> DataConverter:
    """Pydantic models to JSON, then AES-256-GCM; `previous_keys` keeps histories under retired keys readable.

    Failure messages and stack traces are moved into an encoded payload too, so a partner's reason or an error
    that quotes an input never sits in the history in clear."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(key_id, key, previous_keys=previous_keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter_for(settings: Settings) -> DataConverter:
    return data_converter(*load_or_create_key(settings))


async def connect(settings: Settings, *, interceptors: Sequence[Interceptor] = (),
                  runtime: Runtime | None = None) -> Client:
    """`interceptors`: the tracing one when traces are on (predeparture.telemetry); a worker built on this client
    takes them too. `runtime`: the process's own, when it serves metrics or forwards the SDK's logs."""
    return await Client.connect(
        settings.temporal.address,
        namespace=settings.temporal.namespace,
        data_converter=data_converter_for(settings),
        interceptors=interceptors,
        runtime=runtime,
    )
