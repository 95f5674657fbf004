"""Serve the provider to OpenTofu or Terraform, or install the launcher they start.

python -m ochami_provider.terraform_adapter            # what the engine runs
python -m ochami_provider.terraform_adapter install    # the launcher, where `init` finds it
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

import tf.provider
import tf.runner
import tf.types
import tf.utils
from msgpack import ExtType
from tf.iface import PlanContext
from tf.provider import ProviderServicer, _decode_state, _encode_state
from tf.runner import install_provider, run_provider
from tf.utils import Diagnostics, _to_attribute_path, read_dynamic_value, to_dynamic_value

from .. import cancellation
from ._provider import OchamiProvider

# The provider's version in the plugin mirror: the package's own (pyproject.toml, its one place).
VERSION = importlib.metadata.version("ochami-provider")
HOSTS = ("registry.opentofu.org", "registry.terraform.io")
# cty's msgpack extension for an unknown value that carries refinements (a string known to
# start with `{`, a list known not to be empty). The framework knows only the plain unknown
# (extension 0); to it, and to this provider, a refined unknown is unknown all the same.
_REFINED_UNKNOWN = 12


def _ext_hook(code: int, data: bytes) -> Any:
    if (code == 0 and data == b"\x00") or code == _REFINED_UNKNOWN:
        return tf.types.Unknown
    return ExtType(code, data)


class _StopOnShutdownOnly(tf.runner._ShutdownInterceptor):  # type: ignore[misc]
    """The framework stops its server at once on StopProvider too, which cancels the call in
    flight: a session the engine asked to stop could not hand back its record, and the engine
    recorded nothing ("Plugin did not respond"). StopProvider asks in-flight operations to end
    early (the engine then waits for them); only the plugin host's Shutdown ends the server."""

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        result = continuation(handler_call_details)
        if handler_call_details.method == "/plugin.GRPCController/Shutdown":
            self.stopped = True
            if self.server:
                self.server.stop(grace=0)
        return result


class OchamiServicer(ProviderServicer):  # type: ignore[misc]
    """The framework's servicer, with what it leaves out: a create is planned by the resource
    too (so `plan` checks targets in SMD and knows the version before anything is written),
    which changes replace a resource is the core's rule, not a flag per attribute, and a state
    recorded by an earlier version loads."""

    def UpgradeResourceState(self, request: Any, context: Any) -> Any:  # noqa: N802
        # A state recorded by an earlier version lacks the attributes added since (the
        # engine then refuses it whole: "an object with 18 attributes is required (17
        # given)"): each missing one is null, as an unset optional or a computed value not
        # known yet is; one no longer in the schema goes.
        response = super().UpgradeResourceState(request, context)
        if not response.HasField("upgraded_state"):
            return response
        state = read_dynamic_value(response.upgraded_state)
        if isinstance(state, dict):
            attrs = self._get_res_attrs(request.type_name)
            complete = {name: state.get(name) for name in attrs}
            response.upgraded_state.CopyFrom(to_dynamic_value(complete))
        return response

    def StopProvider(self, request: Any, context: Any) -> Any:  # noqa: N802
        # The engine's cancel (Ctrl-C): a session running starts no new transition, and ends.
        cancellation.request()
        return super().StopProvider(request, context)

    def PlanResourceChange(self, request: Any, context: Any) -> Any:  # noqa: N802
        pb = tf.provider.pb
        diags = Diagnostics()
        type_name = request.type_name
        attrs = self._get_res_attrs(type_name)
        blocks = self._get_res_blocks(type_name)
        _, prior = _decode_state(diags, attrs, blocks, request.prior_state)
        proposed_enc, proposed = _decode_state(diags, attrs, blocks, request.proposed_new_state)
        if diags.has_errors() or proposed is None:
            return super().PlanResourceChange(request, context)
        resource = self.app.new_resource(self._get_res_cls(type_name))
        if prior is not None:
            response = super().PlanResourceChange(request, context)
            replaces = getattr(resource, "replaces", None)
            if replaces is not None and not diags.has_errors():
                del response.requires_replace[:]
                response.requires_replace.extend(
                    _to_attribute_path([name]) for name in replaces(prior, proposed)
                )
            return response
        planned = {
            k: v if v is not None or not attrs[k].computed else attrs[k].default
            for k, v in proposed.items()
            if k in attrs
        }
        planned = resource.plan(PlanContext(diags, type_name, set(planned)), None, planned)
        return pb.PlanResourceChange.Response(
            planned_state=_encode_state(attrs, blocks, planned, proposed_enc),
            diagnostics=diags.to_pb(),
        )


def install(plugin_dir: Path) -> list[Path]:
    """A launcher running this Python's provider, packed for the engines' local mirror."""
    with tempfile.TemporaryDirectory() as work:
        launcher = Path(work) / "terraform-provider-ochami"
        launcher.write_text(
            f'#!/bin/sh\nexec {sys.executable} -m ochami_provider.terraform_adapter "$@"\n'
        )
        launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        for host in HOSTS:
            install_provider(host, "openchami", "ochami", VERSION, plugin_dir, launcher)
    return [plugin_dir / host / "openchami" / "ochami" for host in HOSTS]


def cli_config(plugin_dir: Path) -> str:
    """A CLI configuration (TF_CLI_CONFIG_FILE) that takes this provider from `plugin_dir`
    and every other provider as usual: for a mirror outside the implied ones."""
    names = ", ".join(f'"{host}/openchami/ochami"' for host in HOSTS)
    return (
        "provider_installation {\n  filesystem_mirror {\n"
        f'    path    = "{plugin_dir}"\n    include = [{names}]\n  }}\n'
        f"  direct {{\n    exclude = [{names}]\n  }}\n}}\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["install"]:
        parser = argparse.ArgumentParser(prog="python -m ochami_provider.terraform_adapter install")
        parser.add_argument(
            "--plugin-dir",
            type=Path,
            default=Path(os.environ.get("HOME", "~")).expanduser() / ".terraform.d" / "plugins",
            help="the engines' implied local mirror (default ~/.terraform.d/plugins)",
        )
        parser.add_argument(
            "--cli-config", type=Path, help="also write a CLI configuration naming that mirror"
        )
        options = parser.parse_args(args[1:])
        for where in install(options.plugin_dir):
            print(where)
        if options.cli_config is not None:
            options.cli_config.write_text(cli_config(options.plugin_dir.resolve()))
        return 0
    tf.provider.ProviderServicer = OchamiServicer
    tf.runner._ShutdownInterceptor = _StopOnShutdownOnly
    tf.utils._msgpack_ext_hook = _ext_hook
    cancellation.watch_process_end()
    run_provider(OchamiProvider(), [sys.argv[0], *args])
    return 0
