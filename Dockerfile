# e2e in a container (docs/deploy.md). Build with one command, Docker or Podman:
#   docker build -t e2e .        podman build -t e2e .
# Run (the current folder as /work):
#   docker run --rm -v "$PWD:/work" e2e e2e run --events events.e2e -o predictions.csv
#
# The build has no -march=native: one binary runs on any x86-64 node and picks its AVX2 or
# AVX-512 kernels at run time (docs/instruction-sets.md).

# ---- build stage: the toolchain and the -dev packages (make deps installs them) ----
FROM debian:12-slim AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      make gcc libc6-dev pkg-config ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make deps && make -j"$(nproc)" all && sh deploy/stage.sh /stage

# ---- runtime stage: the runtime libraries, the e2e binary, the library, the header, the models ----
FROM debian:12-slim
COPY deploy/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      $(sed 's/#.*//' /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
COPY --from=build /stage/opt/e2e /opt/e2e
RUN echo /opt/e2e/lib > /etc/ld.so.conf.d/e2e.conf && ldconfig
ENV PATH=/opt/e2e/bin:$PATH \
    PKG_CONFIG_PATH=/opt/e2e/lib/pkgconfig \
    E2E_MODELS=/opt/e2e/share/e2e/models
WORKDIR /work
CMD ["e2e", "help"]
