"""The generator pipeline: load -> IR -> validate -> targets -> write (or compare)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from concord_codegen import loader
from concord_codegen.config import Config
from concord_codegen.diagnostics import Diagnostics, Location
from concord_codegen.drift import DriftReport, compare
from concord_codegen.ir import Api, build_api, validate
from concord_codegen.manifest import Manifest, missing_headers, read_manifest
from concord_codegen.targets import GeneratedFile, Target, TargetContext, discover
from concord_codegen.targets.base import TargetError, owns
from concord_codegen.writer import remove_files, stale_files, write_files


@dataclass
class Outcome:
    """What a run produced: diagnostics, the IR and the generated files with their manifest."""

    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    api: Api | None = None
    files: list[GeneratedFile] = field(default_factory=list)
    manifest: Manifest | None = None
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no diagnostic is an error."""
        return not self.diagnostics.errors


class Generator:
    """Runs the selected targets over the contract under `config.root`."""

    def __init__(
        self,
        config: Config,
        targets: Sequence[Target],
        registry: Sequence[Target] | None = None,
    ) -> None:
        self.config = config
        self.targets = list(targets)
        self.registry = list(registry if registry is not None else discover().values())

    def build(self) -> Outcome:
        """Load, build and validate the IR, then produce every target's files in memory."""
        outcome = Outcome()
        spec = loader.load(self.config)
        outcome.diagnostics.extend(spec.diagnostics)
        if not outcome.ok:
            return outcome
        api, diagnostics = build_api(spec, self.config.api_version())
        outcome.api = api
        outcome.diagnostics.extend(diagnostics)
        outcome.diagnostics.extend(validate(api))
        if not outcome.ok:
            return outcome
        context = TargetContext(api=api, spec=spec, config=self.config)
        outcome.files = self._build_targets(context, outcome.diagnostics)
        return outcome

    def generate(self) -> Outcome:
        """Build, then write the files, remove stale ones and write the manifest."""
        outcome = self.build()
        if not outcome.ok:
            return outcome
        root = self.config.root
        previous = read_manifest(root / self.config.manifest) or Manifest()
        kept = self._idle_entries(previous)
        outcome.manifest = Manifest.of(outcome.files).merged(previous, kept)
        listed = set(previous.files) - kept
        outcome.removed = stale_files(root, set(outcome.manifest.files), listed, self._outputs())
        remove_files(root, outcome.removed)
        outcome.written = write_files(root, [*outcome.files, self._manifest_file(outcome.manifest)])
        return outcome

    def check(self) -> tuple[Outcome, DriftReport]:
        """Build, then compare with the working tree (files, stale files and manifest).

        Meant to run with every target: the expected manifest lists exactly what they produce.
        """
        outcome = self.build()
        if not outcome.ok:
            return outcome, DriftReport()
        outcome.manifest = Manifest.of(outcome.files)
        previous = read_manifest(self.config.root / self.config.manifest)
        expected = [*outcome.files, self._manifest_file(outcome.manifest)]
        listed = set(previous.files) if previous else set()
        return outcome, compare(self.config.root, expected, listed, self._outputs())

    def _build_targets(
        self, context: TargetContext, diagnostics: Diagnostics
    ) -> list[GeneratedFile]:
        """Every target's files, sorted by path; files without a header are errors."""
        files: list[GeneratedFile] = []
        for target in self.targets:
            try:
                files += target.generate(context)
            except TargetError as exc:
                diagnostics.error(Location(), f"target {target.name}: {exc}")
        for path in missing_headers(files):
            diagnostics.error(Location(path), "generated file lacks the generated-by header")
        return sorted(files, key=lambda f: f.path)

    def _idle_entries(self, previous: Manifest) -> set[str]:
        """Old manifest entries of registered targets not run this time (kept as they are)."""
        selected = {t.name for t in self.targets}
        idle = [t for t in self.registry if t.name not in selected]
        outputs = tuple(out for target in idle for out in target.outputs(self.config))
        return {p for p in previous.files if owns(outputs, p)}

    def _manifest_file(self, manifest: Manifest) -> GeneratedFile:
        return GeneratedFile(self.config.manifest, manifest.render())

    def _outputs(self) -> tuple[str, ...]:
        """Every path the selected targets own."""
        return tuple(out for target in self.targets for out in target.outputs(self.config))
