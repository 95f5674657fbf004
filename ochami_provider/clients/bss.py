"""BSS (Boot Script Service): boot parameters under /boot/v1/bootparameters.

Every call takes a whole batch of hosts in one request: BSS stores one kernel/initrd/params
record for all hosts named in a PUT, and answers a GET whose body lists hosts.

A record is stored under node names or under MACs, never both in one request: BSS on
PostgreSQL adds only the names when a PUT names both (v1.32.2, `Add`), and finds a node's
iPXE request (`?mac=`) only among records stored by MAC. So a record that carries MACs is
written in two requests.
"""

from __future__ import annotations

from pydantic import TypeAdapter

from ..errors import NotFoundError, ServiceError
from ..models.records import BootParams, BootRecords, EndpointAccess
from .listings import Listings
from .transport import ServiceTransport

# Read in one pass; BSS answers an empty store with JSON null.
_RECORDS = TypeAdapter(list[BootParams] | None)
_ACCESSES = TypeAdapter(list[EndpointAccess] | None)
# What BSS on PostgreSQL answers (HTTP 400) to a DELETE naming no host it holds (v1.32.2).
_NOTHING_TO_DELETE = "no node IDs specified"


class BssClient:
    def __init__(self, transport: ServiceTransport, listings: Listings | None = None) -> None:
        self.transport = transport
        self.listings = listings or Listings()

    def get(self, hosts: list[str]) -> dict[str, BootParams]:
        """Boot parameters of these hosts, keyed by host; hosts BSS does not know are absent."""
        if not hosts:
            return {}
        try:
            response = self.transport.request("GET", "/bootparameters", json={"hosts": hosts})
        except NotFoundError:
            return {}
        wanted = set(hosts)
        found: dict[str, BootParams] = {}
        for item in response.json() or []:
            record = BootParams.model_validate(item)
            for host in record.hosts:
                if host in wanted:
                    found[host] = record.model_copy(update={"hosts": [host]})
        return found

    def read(self, hosts: list[str], macs: list[str]) -> BootRecords:
        """Records of these hosts and of these MACs, in one request; absent keys are absent."""
        if not hosts and not macs:
            return BootRecords({}, {})
        if self.listings.active:
            return BootRecords.of(self.listings.get("bss records", self.get_all), hosts, macs)
        body: dict[str, list[str]] = {"hosts": hosts}
        if macs:
            body["macs"] = macs
        try:
            response = self.transport.request("GET", "/bootparameters", json=body)
        except NotFoundError:
            return BootRecords({}, {})
        return BootRecords.of(_RECORDS.validate_json(response.content) or [], hosts, macs)

    def get_all(self) -> list[BootParams]:
        """Every record; BSS lists one per boot configuration with all its hosts, and answers
        an empty store with JSON null."""
        return (
            _RECORDS.validate_json(self.transport.request("GET", "/bootparameters").content) or []
        )

    def put(self, record: BootParams) -> None:
        """Create or replace the record for every host in `record.hosts` in one request, and
        for every MAC in `record.macs` in a second one."""
        if record.hosts or not record.macs:
            self.transport.request(
                "PUT", "/bootparameters", json=record.model_copy(update={"macs": []}).wire()
            )
        if record.macs:
            by_mac = record.model_copy(
                update={"hosts": [], "macs": [m.lower() for m in record.macs]}
            )
            self.transport.request("PUT", "/bootparameters", json=by_mac.wire())

    def delete(self, hosts: list[str], macs: list[str] | None = None) -> None:
        """Remove these hosts' and these MACs' parameters (one request each); keys BSS no
        longer holds are not an error."""
        self._delete("hosts", hosts)
        self._delete("macs", [m.lower() for m in macs or []])

    def _delete(self, key: str, values: list[str]) -> None:
        if not values:
            return
        try:
            self.transport.request("DELETE", "/bootparameters", json={key: values})
        except ServiceError as error:
            # BSS refuses a DELETE when it holds none of the hosts (removed by hand since,
            # say). The outcome the caller wants, no record for them, already holds.
            if error.status != 400 or _NOTHING_TO_DELETE not in error.message:
                raise

    def boot_script(self, *, mac: str | None = None, name: str | None = None) -> str:
        """The iPXE script BSS serves a node asking by MAC (as its firmware does) or by name.
        BSS answers 404 with its reason when it cannot render one (no record, or, v1.32 with
        SPIRE_TOKEN_URL set, a token service it cannot reach); it records the request in the
        endpoint history like a node's own."""
        params = {"mac": mac} if mac else {"name": name}
        return self.transport.request("GET", "/bootscript", params=params).text

    def last_fetches(self, endpoint: str = "bootscript") -> dict[str, int]:
        """When each node last fetched `endpoint` (Unix seconds), for every node in one request."""
        response = self.transport.request("GET", "/endpoint-history", params={"endpoint": endpoint})
        accesses = _ACCESSES.validate_json(response.content) or []
        return {a.name: a.last_epoch for a in accesses}
