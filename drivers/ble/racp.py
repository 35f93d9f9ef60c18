"""Record Access Control Point (0x2A52): the requests a collector writes to fetch stored glucose
records, and the indications the device answers with.

Requests are ``op code, operator, operand…``; the device answers either ``05 00 <uint16 count>``
(Number of Stored Records Response) or ``06 00 <request op code> <response code>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.ble.numbers import Reader

REPORT_RECORDS = 0x01
DELETE_RECORDS = 0x02
ABORT = 0x03
REPORT_NUMBER = 0x04
NUMBER_RESPONSE = 0x05
RESPONSE_CODE = 0x06

OP_CODES = {
    REPORT_RECORDS: "report stored records",
    DELETE_RECORDS: "delete stored records",
    ABORT: "abort operation",
    REPORT_NUMBER: "report number of stored records",
    NUMBER_RESPONSE: "number of stored records response",
    RESPONSE_CODE: "response code",
}
RESPONSE_CODES = {
    0x01: "success",
    0x02: "op code not supported",
    0x03: "invalid operator",
    0x04: "operator not supported",
    0x05: "invalid operand",
    0x06: "no records found",
    0x07: "abort unsuccessful",
    0x08: "procedure not completed",
    0x09: "operand not supported",
}
_NULL, _ALL, _GREATER_OR_EQUAL = 0x00, 0x01, 0x03
_FILTER_SEQUENCE_NUMBER = 0x01
NAME = "0x2A52 Record Access Control Point"


def report_all_records() -> bytes:
    return bytes([REPORT_RECORDS, _ALL])


def report_number_of_records() -> bytes:
    return bytes([REPORT_NUMBER, _ALL])


def report_records_from(sequence_number: int) -> bytes:
    """Every record whose sequence number is ≥ ``sequence_number`` (0–65535)."""
    if not 0 <= sequence_number <= 0xFFFF:
        raise ValueError(f"sequence number {sequence_number} is not a uint16")
    operand = sequence_number.to_bytes(2, "little")
    return bytes([REPORT_RECORDS, _GREATER_OR_EQUAL, _FILTER_SEQUENCE_NUMBER]) + operand


def abort() -> bytes:
    return bytes([ABORT, _NULL])


@dataclass(frozen=True, slots=True)
class RacpResponse:
    """A decoded indication: a record count, or the outcome of a request."""

    op_code: int  # NUMBER_RESPONSE or RESPONSE_CODE
    record_count: int | None = None  # NUMBER_RESPONSE only
    request_op_code: int | None = None  # RESPONSE_CODE only: what it answers
    response_code: int | None = None

    @property
    def request(self) -> str | None:
        if self.request_op_code is None:
            return None
        return OP_CODES.get(self.request_op_code, f"unknown op code {self.request_op_code}")

    @property
    def response(self) -> str | None:
        if self.response_code is None:
            return None
        return RESPONSE_CODES.get(self.response_code, f"reserved ({self.response_code})")

    @property
    def succeeded(self) -> bool:
        return self.op_code == NUMBER_RESPONSE or self.response_code == 0x01


def decode_response(data: bytes, name: str = NAME) -> RacpResponse:
    """ValueError for anything but a well-formed response indication."""
    reader = Reader(data, name)
    op_code = reader.u8("Op Code")
    reader.u8("Operator")  # always Null in responses; nothing depends on it
    if op_code == NUMBER_RESPONSE:
        return RacpResponse(op_code, record_count=reader.u16("Number of Records"))
    if op_code == RESPONSE_CODE:
        request = reader.u8("Request Op Code")
        return RacpResponse(op_code, request_op_code=request, response_code=reader.u8("Response"))
    raise reader.error(f"op code 0x{op_code:02X} is not a response (0x05 or 0x06)")


def response_fields(data: bytes, name: str) -> dict[str, object]:
    """:func:`decode_response` as the dict :func:`drivers.ble.gatt.decode` returns."""
    response = decode_response(data, name)
    return {
        "op_code": response.op_code,
        "record_count": response.record_count,
        "request_op_code": response.request_op_code,
        "request": response.request,
        "response_code": response.response_code,
        "response": response.response,
        "succeeded": response.succeeded,
    }
