# shellcheck shell=bash
# The C# SDK (sdks/csharp): hooks sourced by scripts/lib.sh's sdk_run (see there).
# Users build Concord.csproj with `dotnet`; here Mono's mcs (C# 7.2) compiles the same sources:
# cs_sources expands the csproj's <Compile Include="..."> globs, so both builds share one list.

CS_DIR=sdks/csharp
CS_OUT="$CONCORD_ROOT/$CS_DIR/bin"
CS_NEWTONSOFT_DIR=/usr/lib/cli/Newtonsoft.Json-5.0
CS_MCS=(mcs -langversion:7.2 -warnaserror -nologo)

cs_require() { # check the Mono toolchain (scripts/setup.sh apt installs it)
  local tool
  for tool in mcs mono nunit-console; do
    command -v "$tool" >/dev/null 2>&1 || { log sdk-csharp "ERROR: $tool not found (run scripts/setup.sh apt)"; return 1; }
  done
  [[ -f $CS_NEWTONSOFT_DIR/Newtonsoft.Json.dll ]] ||
    { log sdk-csharp "ERROR: Newtonsoft.Json.dll not in $CS_NEWTONSOFT_DIR (apt: libnewtonsoft-json-cil-dev)"; return 1; }
}

cs_sources() { # the .cs files of the csproj's Compile items, one a line, relative to sdks/csharp
  local pattern
  (
    cd "$CS_DIR" || exit 1
    shopt -s globstar nullglob
    sed -n 's/.*<Compile Include="\([^"]*\)".*/\1/p' Concord.csproj | while read -r pattern; do
      # shellcheck disable=SC2086 # the pattern is a glob to expand
      printf '%s\n' $pattern
    done | sort -u
  )
}

cs_build() { # Concord.dll (with its XML docs: a public item without one is an error) into bin/
  local sources
  mapfile -t sources < <(cs_sources)
  [[ ${#sources[@]} -gt 0 ]] || { log sdk-csharp "ERROR: no sources from Concord.csproj"; return 1; }
  mkdir -p "$CS_OUT"
  cp "$CS_NEWTONSOFT_DIR/Newtonsoft.Json.dll" "$CS_OUT/"
  (cd "$CS_DIR" && "${CS_MCS[@]}" -target:library -out:bin/Concord.dll -doc:bin/Concord.xml \
    -r:System.Net.Http -r:Facades/System.Runtime.InteropServices.RuntimeInformation.dll \
    -r:"$CS_NEWTONSOFT_DIR/Newtonsoft.Json.dll" "${sources[@]}")
}

cs_build_program() { # OUT SOURCES... — an exe against Concord.dll into bin/
  local out="$1"
  shift
  "${CS_MCS[@]}" -target:exe -out:"$CS_OUT/$out" -r:"$CS_OUT/Concord.dll" -r:System.Net.Http \
    -r:"$CS_NEWTONSOFT_DIR/Newtonsoft.Json.dll" "$@"
}

sdk_setup() {
  cs_require
}

cs_style() { # whitespace style of every C# file (no dotnet-format offline): no tabs, no trailing blanks, CRLF or missing final newline
  python3 - "$CS_DIR" <<'PY'
import sys
from pathlib import Path

bad = []
for path in sorted(Path(sys.argv[1]).rglob("*.cs")):
    if "bin" in path.parts:
        continue
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n") or "\r" in text:
        bad.append(f"{path}: CRLF or no final newline")
    for number, line in enumerate(text.splitlines(), 1):
        if "\t" in line or line != line.rstrip():
            bad.append(f"{path}:{number}: tab or trailing whitespace")
print("\n".join(bad[:40]))
sys.exit(1 if bad else 0)
PY
}

sdk_lint() {
  cs_require && cs_build && cs_style || return 1
  cs_build_tests && cs_build_program concord-conformance.exe "$CS_DIR"/conformance/*.cs || return 1
  log sdk-csharp "mcs -warnaserror clean (SDK with XML docs on every public item, tests, adapter); whitespace style clean"
}

sdk_build_adapter() {
  cs_require && cs_build &&
    cs_build_program concord-conformance.exe "$CS_DIR"/conformance/*.cs
}

CS_NUNIT_DIR=/usr/lib/cli/nunit.framework-2.6.3

cs_build_tests() { # bin/Concord.Tests.dll from tests/*.cs
  "${CS_MCS[@]}" -target:library -out:"$CS_OUT/Concord.Tests.dll" -r:"$CS_OUT/Concord.dll" \
    -r:System.Net.Http -r:"$CS_NUNIT_DIR/nunit.framework.dll" -r:"$CS_NEWTONSOFT_DIR/Newtonsoft.Json.dll" \
    "$CS_DIR"/tests/*.cs && cp "$CS_NUNIT_DIR/nunit.framework.dll" "$CS_OUT/"
}

cs_summary() { # XML — print NUnit's counts as the plain "N passed, N failed" line; fail when any failed
  python3 - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
cases = root.iter("test-case")
passed = failed = skipped = 0
for case in cases:
    if case.get("executed") != "True":
        skipped += 1
    elif case.get("success") == "True":
        passed += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not passed else 0)
PY
}

sdk_test() {
  cs_require && cs_build && cs_build_tests || return 1
  log sdk-csharp "NUnit: runtime core unit tests, then live tests against ${CONCORD_TEST_BASE_URL:-(no server: live tests ignored)}"
  (cd "$CS_OUT" && nunit-console -nologo -noshadow Concord.Tests.dll -xml=TestResult.xml >nunit.log 2>&1)
  local rc=$?
  grep -E "^(Tests run|  [0-9]+\) |Tests Not Run)" "$CS_OUT/nunit.log" | head -40 >&2
  [[ $rc -eq 0 ]] || sed -n '/Errors and Failures/,$p' "$CS_OUT/nunit.log" | head -80 >&2
  cs_summary "$CS_OUT/TestResult.xml"
}

cs_check_project() { # the csproj is well-formed, has the NuGet metadata, and covers exactly src/**/*.cs
  python3 - "$CS_DIR/Concord.csproj" <<'PY' || return 1
import sys
import xml.etree.ElementTree as ET

project = ET.parse(sys.argv[1]).getroot()
props = {el.tag: (el.text or "").strip() for group in project.iter("PropertyGroup") for el in group}
need = ["PackageId", "Version", "Authors", "PackageLicenseExpression", "RepositoryUrl", "PackageReadmeFile", "Description"]
missing = [name for name in need if not props.get(name)]
assert not missing, f"Concord.csproj lacks {missing}"
assert props.get("TargetFrameworks") == "netstandard2.0;net8.0", props.get("TargetFrameworks")
refs = {r.get("Include"): r.get("Version") for r in project.iter("PackageReference")}
assert refs.get("Newtonsoft.Json", "").startswith("13."), refs
print(f"Concord.csproj: {props['PackageId']} {props['Version']} ({props['TargetFrameworks']}), metadata complete")
PY
  local listed all
  listed="$(cs_sources)"
  all="$(cd "$CS_DIR" && find src -name '*.cs' | sort)"
  [[ $listed == "$all" ]] || { log sdk-csharp "ERROR: the csproj's Compile items differ from src/**/*.cs"; return 1; }
  log sdk-csharp "csproj and mcs build share $(wc -l <<<"$listed") sources"
}

cs_run_examples() { # compile each runnable README example against bin/Concord.dll and run it on the live server
  local dir n=0 file
  dir="$(mktemp -d)"
  python3 - "$CS_DIR/README.md" "$dir" <<'PY' || { rm -rf "$dir"; return 1; }
import re
import sys
from pathlib import Path

text = Path(sys.argv[1]).read_text(encoding="utf-8")
blocks = [b for b in re.findall(r"```csharp\n(.*?)```", text, re.S) if b.startswith("// example: runnable")]
assert blocks, "no runnable example in the README"
for i, block in enumerate(blocks):
    Path(sys.argv[2], f"example{i}.cs").write_text(block, encoding="utf-8")
PY
  for file in "$dir"/example*.cs; do
    n=$((n + 1))
    cs_build_program "example$n.exe" "$file" || { rm -rf "$dir"; return 1; }
    CONCORD_BASE_URL="$CONCORD_TEST_BASE_URL" CONCORD_API_KEY="$CONCORD_TEST_API_KEY" \
      mono "$CS_OUT/example$n.exe" >"$dir/out$n.txt" 2>"$dir/err$n.txt" ||
      { log sdk-csharp "ERROR: README example $n failed"; cat "$dir/err$n.txt" >&2; rm -rf "$dir"; return 1; }
  done
  log sdk-csharp "$n README examples compiled against Concord.dll and ran against the live server"
  rm -rf "$dir"
}

sdk_package_check() {
  cs_require && cs_build && cs_check_project && cs_run_examples
}
