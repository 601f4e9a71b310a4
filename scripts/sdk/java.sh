# shellcheck shell=bash
# The Java SDK (sdks/java: Maven modules concord-sdk, concord-sdk-grpc and the conformance
# adapter): hooks sourced by scripts/lib.sh's sdk_run (see there). Maven's local repository, the
# protoc that matches protobuf-java (for concord-gen's java_grpc target) and google-java-format
# live under .scratch/java; after the first set-up every Maven run is offline (-o).

JAVA_SCRATCH="$CONCORD_ROOT/.scratch/java"
JAVA_M2="$CONCORD_ROOT/.scratch/m2"
JAVA_STAMP="$JAVA_SCRATCH/.concord-install-stamp"
JAVA_PROTOC_VERSION=4.36.2
JAVA_GJF_VERSION=1.28.0
JAVA_DIR="$CONCORD_ROOT/sdks/java"

java_mvn() { # mvn with the project's local repository, quiet, batch; offline once set up
  java_mvn_loud -q "$@"
}

java_mvn_loud() { # java_mvn with Maven's INFO output (Surefire's summary lines)
  local offline=()
  [[ -f $JAVA_STAMP && ${JAVA_ONLINE:-0} != 1 ]] && offline=(-o)
  nice -n 10 mvn -B -ntp -Dstyle.color=never "${offline[@]}" -Dmaven.repo.local="$JAVA_M2" \
    -f "$JAVA_DIR/pom.xml" "$@"
}

java_want() { # what the stamp records: the pinned tools and the Maven build's inputs
  printf '%s\n' "protoc=$JAVA_PROTOC_VERSION gjf=$JAVA_GJF_VERSION"
  hash_files "$CONCORD_ROOT/scripts/sdk/java.sh" "$CONCORD_ROOT/generator/templates/java/pom.xml.j2"
}

java_fetch() { # GROUP:ARTIFACT:VERSION:TYPE[:CLASSIFIER] DEST — one artifact from Maven Central
  local artifact="$1" dest="$2" group name version type classifier file
  IFS=: read -r group name version type classifier <<<"$artifact"
  nice -n 10 mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$JAVA_M2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get \
    -Dartifact="$artifact" -Dtransitive=false >&2 || return 1
  file="$JAVA_M2/${group//.//}/$name/$version/$name-$version${classifier:+-$classifier}.$type"
  cp "$file" "$dest"
}

sdk_setup_codegen() { # what concord-gen's Java targets need: protoc (java_out) and google-java-format
  if [[ -x $JAVA_SCRATCH/bin/protoc && -f $JAVA_SCRATCH/google-java-format.jar &&
    ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
    return 0
  fi
  if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
    log sdk-java "no JDK or Maven on PATH: the Java targets of concord-gen cannot run"
    return 0
  fi
  mkdir -p "$JAVA_SCRATCH/bin" "$JAVA_M2"
  log sdk-java "protoc $JAVA_PROTOC_VERSION and google-java-format $JAVA_GJF_VERSION from Maven Central"
  java_fetch "com.google.protobuf:protoc:$JAVA_PROTOC_VERSION:exe:linux-x86_64" "$JAVA_SCRATCH/bin/protoc" &&
    chmod +x "$JAVA_SCRATCH/bin/protoc" &&
    java_fetch "com.google.googlejavaformat:google-java-format:$JAVA_GJF_VERSION:jar:all-deps" \
      "$JAVA_SCRATCH/google-java-format.jar"
}

sdk_setup() {
  local t0=$SECONDS want
  if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    log sdk-java "no JDK or Maven on PATH: the Java SDK is skipped"
    return 0
  fi
  want="$(java_want)"
  if [[ -f $JAVA_STAMP && "$(cat "$JAVA_STAMP")" == "$want" && -x $JAVA_SCRATCH/bin/protoc &&
    -f $JAVA_SCRATCH/google-java-format.jar && ${CONCORD_FORCE_INSTALL:-0} != 1 ]]; then
    log sdk-java "Maven repository and tools up to date (.scratch/m2, .scratch/java)"
    return 0
  fi
  rm -f "$JAVA_STAMP"
  sdk_setup_codegen || return 1
  log sdk-java "Maven dependencies and plugins into .scratch/m2 (build, release jars, test runner)"
  java_mvn -Prelease -Dtest=NoSuchTest -Dsurefire.failIfNoSpecifiedTests=false install \
    dependency:build-classpath -Dmdep.outputFile=/dev/null >&2 || return 1
  java_surefire_provider || return 1
  printf '%s\n' "$want" >"$JAVA_STAMP"
  log sdk-java "set up in $((SECONDS - t0))s"
}

java_surefire_provider() { # Surefire resolves its JUnit Platform provider only when tests run:
  # fetch it (and the platform's launcher) now, so that later offline runs find them
  local pom="$CONCORD_ROOT/sdks/java/pom.xml" surefire junit
  surefire="$(grep -A1 '<artifactId>maven-surefire-plugin</artifactId>' "$pom" |
    sed -n 's:.*<version>\(.*\)</version>.*:\1:p' | head -n1)"
  junit="$(sed -n 's:.*<junit.version>5\.\(.*\)</junit.version>.*:\1:p' "$pom" | head -n1)"
  [[ -n $surefire && -n $junit ]] || { log sdk-java "no Surefire or JUnit version in $pom"; return 1; }
  java_mvn dependency:get -Dartifact="org.apache.maven.surefire:surefire-junit-platform:$surefire" >&2 &&
    java_mvn dependency:get -Dartifact="org.junit.platform:junit-platform-launcher:1.$junit" >&2
}

java_gjf() { # ARGS... — google-java-format with the javac exports it needs on Java 17
  local pkg exports=()
  for pkg in api code file parser tree util; do
    exports+=("--add-exports=jdk.compiler/com.sun.tools.javac.$pkg=ALL-UNNAMED")
  done
  java "${exports[@]}" -jar "$JAVA_SCRATCH/google-java-format.jar" "$@"
}

sdk_lint() { # javac -Xlint:all -Werror (the compiler plugin's settings) and google-java-format
  local files
  log sdk-java "javac -Xlint:all -Werror (mvn compile)"
  java_mvn -DskipTests compile test-compile || return 1
  log sdk-java "google-java-format --dry-run (all Java but protoc's output)"
  mapfile -t files < <(find "$JAVA_DIR" "$CONCORD_ROOT/generator/runtime/java" -name '*.java' \
    -not -path '*/dev/concord/v1/*' -not -path '*/target/*' | sort)
  local unformatted
  unformatted="$(java_gjf --dry-run "${files[@]}")" || return 1
  [[ -z $unformatted ]] || { echo "not google-java-format'd:"; echo "$unformatted"; return 1; }
}

sdk_test() { # unit tests, then live tests against CONCORD_TEST_BASE_URL / _GRPC_TARGET
  local t0=$SECONDS out rc=0
  out="$(mktemp)"
  log sdk-java "mvn install: JUnit 5 via Surefire (live tests use CONCORD_TEST_*)"
  java_mvn_loud install >"$out" 2>&1 || rc=1
  # Surefire's per-module summaries and the build's verdict; the whole log when it failed.
  grep -E '^\[(INFO|WARNING|ERROR)\] (Tests run:|BUILD )' "$out" || true
  [[ $rc -eq 0 ]] || tail -n 150 "$out"
  rm -f "$out"
  log sdk-java "Java build and tests in $((SECONDS - t0))s"
  return "$rc"
}

sdk_package_check() { # the release jars, from a clean local repository, in a user's project
  local tmp rc=0
  tmp="$(mktemp -d)"
  log sdk-java "release build (jars, sources, javadoc) deployed to a file repository"
  # Maven refuses to deploy offline; a file:// target and a filled cache need no network.
  JAVA_ONLINE=1 java_mvn -Prelease -DskipTests deploy \
    -DaltDeploymentRepository="release::file://$tmp/release" ||
    { rm -rf "$tmp"; return 1; }
  ls "$tmp"/release/dev/concord/concord-sdk/*/concord-sdk-*-{sources,javadoc}.jar >/dev/null ||
    { echo "sources or javadoc jar missing"; rm -rf "$tmp"; return 1; }
  cat >"$tmp/settings.xml" <<XML
<settings>
  <mirrors>
    <mirror><id>cache</id><mirrorOf>central</mirrorOf><url>file://$JAVA_M2</url></mirror>
  </mirrors>
  <profiles>
    <profile>
      <id>release</id>
      <repositories><repository><id>release</id><url>file://$tmp/release</url></repository></repositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>release</activeProfile></activeProfiles>
</settings>
XML
  log sdk-java "a user's project (sdks/java/package-check) built against a clean local repository"
  cp -r "$JAVA_DIR/package-check" "$tmp/project"
  (
    cd "$tmp/project" &&
      nice -n 10 mvn -B -q -Dstyle.color=never -s "$tmp/settings.xml" -Dmaven.repo.local="$tmp/m2" package \
        dependency:build-classpath -Dmdep.outputFile=cp.txt &&
      grep -q "release" "$tmp"/m2/dev/concord/concord-sdk/*/_remote.repositories &&
      java -cp "target/classes:$(cat cp.txt)" example.Main \
        "$CONCORD_TEST_BASE_URL" "$CONCORD_TEST_GRPC_TARGET" "$CONCORD_TEST_API_KEY"
  ) || rc=1
  rm -rf "$tmp"
  return "$rc"
}

sdk_build_adapter() { # the adapter's jar, classpath and class-data archive for conformance/run.sh
  local target="$JAVA_DIR/conformance/target" call
  java_mvn -DskipTests install dependency:build-classpath \
    -Dmdep.outputFile="$target/classpath.txt" -pl conformance -am || return 1
  # A class-data-sharing archive of the classes one REST and one gRPC call load (to a closed
  # port): each adapter process then starts in a fraction of the time on a busy machine.
  call='{"type":"call","id":"cds","client":"c","client_config":{"base_url":"http://127.0.0.1:9",'
  call+='"grpc_target":"127.0.0.1:9","api_key":"k","max_retries":0,"timeout_ms":2000},"op":"WhoAmI","input":{}}'
  rm -f "$target/adapter.jsa"
  local mode
  for mode in "" --grpc; do
    printf '%s\n{"type":"shutdown"}\n' "$call" |
      CONCORD_ADAPTER_CDS_DUMP="$target/adapter$mode.jsa" "$JAVA_DIR/conformance/run.sh" $mode >/dev/null 2>&1 ||
      log sdk-java "class-data archive$mode not made (the adapter starts without it)"
  done
}
