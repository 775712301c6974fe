#!/bin/sh
# e2e run --frames on an HDF5 file in the public electron/photon layout (/X (N,32,32,2) float,
# /y (N,)): builds the project with HDF5=1 into $BUILD-hdf5, writes the file (h5py when
# importable, else a small C program linked to libhdf5), runs the trained E/Gamma model and
# checks the CSV against the same frames given as .npy. Exit 0 pass, 77 skip, else fail.
BUILD=${BUILD:-build}
E2E=${E2E:-$BUILD/e2e}
SHARED=${SHARED:-../shared}
MODEL=$SHARED/models/eg_simplenet_trained/model.onnx
H5INC=/usr/include/hdf5/serial
H5LIB=/usr/lib/x86_64-linux-gnu/hdf5/serial
if ! dpkg-query -W -f='${Status}' libhdf5-dev 2>/dev/null | grep -q "install ok installed" ||
   [ ! -f "$H5INC/hdf5.h" ]; then
    echo "skipped: libhdf5-dev not installed"; exit 77
fi
[ -f "$MODEL" ] || { echo "skipped: no $MODEL"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

HB=$BUILD-hdf5
make -s HDF5=1 BUILD="$HB" all > "$dir/make.log" 2>&1 || { tail -20 "$dir/make.log"; fail "make HDF5=1"; }
E5=$HB/e2e

# The data: 40 photon/electron-like crops, /X (40,32,32,2) with a shower in channel 0 and
# noise in channel 1, /y alternating 0/1; the same arrays as .npy for the comparison.
N=40
if /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null; then
    /usr/bin/python3 - "$dir" "$N" <<'PY' || fail "h5py writer"
import sys, numpy as np, h5py
d, n = sys.argv[1], int(sys.argv[2])
i, y, x = np.meshgrid(np.arange(n), np.arange(32), np.arange(32), indexing='ij')
X = np.zeros((n, 32, 32, 2), np.float32)
X[..., 0] = (10 + i) * np.exp(-((y - 15) ** 2 + (x - 15) ** 2) / (2.0 + i % 3))
X[..., 1] = ((i * 7 + y * 3 + x) % 11) * 0.01
Y = (np.arange(n) % 2).astype(np.float32)
with h5py.File(d + '/eg.h5', 'w') as f:
    f['X'] = X; f['y'] = Y; f['X2'] = X[..., ::-1]
with h5py.File(d + '/jets.h5', 'w') as f:
    f['X_jets'] = np.zeros((3, 2, 30, 30), np.float32); f['y'] = np.zeros(3, np.float32)
np.save(d + '/eg.npy', X); np.save(d + '/y.npy', Y)
PY
    echo "wrote the HDF5 files with h5py"
else
    cat > "$dir/w.c" <<'C'
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void npy(const char *p, const char *shape, const float *v, size_t n)
{
    char h[118];
    int l = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    memset(h + l, ' ', sizeof h - l);
    h[sizeof h - 1] = '\n';
    FILE *f = fopen(p, "wb");
    fwrite("\x93NUMPY\x01\x00\x76\x00", 1, 10, f);
    fwrite(h, 1, sizeof h, f);
    fwrite(v, sizeof(float), n, f);
    fclose(f);
}
static void put(hid_t f, const char *name, int rank, const hsize_t *d, const float *v)
{
    hid_t s = H5Screate_simple(rank, d, NULL);
    hid_t ds = H5Dcreate2(f, name, H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(s);
}
int main(int argc, char **argv)
{
    int n = atoi(argv[2]);
    char p[4096];
    float *X = malloc(sizeof(float) * n * 32 * 32 * 2), *Y = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) {
        Y[i] = i % 2;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                float *q = X + ((size_t)(i * 32 + y) * 32 + x) * 2;
                q[0] = (10 + i) * expf(-((y - 15) * (y - 15) + (x - 15) * (x - 15)) / (2.0f + i % 3));
                q[1] = ((i * 7 + y * 3 + x) % 11) * 0.01f;
            }
    }
    snprintf(p, sizeof p, "%s/eg.h5", argv[1]);
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dx[4] = {n, 32, 32, 2}, dy[1] = {n};
    put(f, "/X", 4, dx, X);
    put(f, "/y", 1, dy, Y);
    float *X2 = malloc(sizeof(float) * n * 32 * 32 * 2); /* X with its two channels swapped */
    for (size_t k = 0; k < (size_t)n * 32 * 32; k++) {
        X2[2 * k] = X[2 * k + 1];
        X2[2 * k + 1] = X[2 * k];
    }
    put(f, "/X2", 4, dx, X2);
    H5Fclose(f);
    snprintf(p, sizeof p, "%s/jets.h5", argv[1]);
    f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    float *J = calloc(3 * 2 * 30 * 30, sizeof(float)), z[3] = {0};
    hsize_t dj[4] = {3, 2, 30, 30}, dz[1] = {3};
    put(f, "/X_jets", 4, dj, J);
    put(f, "/y", 1, dz, z);
    H5Fclose(f);
    char shape[64];
    snprintf(shape, sizeof shape, "(%d, 32, 32, 2)", n);
    snprintf(p, sizeof p, "%s/eg.npy", argv[1]);
    npy(p, shape, X, (size_t)n * 32 * 32 * 2);
    snprintf(shape, sizeof shape, "(%d,)", n);
    snprintf(p, sizeof p, "%s/y.npy", argv[1]);
    npy(p, shape, Y, n);
    return 0;
}
C
    ${CC:-cc} -O1 -I"$H5INC" -o "$dir/w" "$dir/w.c" -L"$H5LIB" -lhdf5 -lm > "$dir/cc.log" 2>&1 \
        || { cat "$dir/cc.log"; fail "compiling the HDF5 writer"; }
    "$dir/w" "$dir" "$N" || fail "HDF5 writer"
    echo "wrote the HDF5 files with a C program (h5py not importable)"
fi

"$E5" run --frames "$dir/eg.h5" --model "eg=$MODEL" --batch 16 -o "$dir/h5.csv" > "$dir/out" 2>&1 \
    || { cat "$dir/out"; fail "run --frames eg.h5"; }
cat "$dir/out"
grep -q "hdf5 /X, NHWC 2 x 32 x 32, channels 0" "$dir/out" || fail "summary: $(cat "$dir/out")"
head -1 "$dir/h5.csv" | grep -q '^index,label,score$' || fail "CSV header"
[ "$(tail -n +2 "$dir/h5.csv" | wc -l)" -eq "$N" ] || fail "not $N rows"
sed -n 2p "$dir/h5.csv" | grep -q '^0,0,[0-9.e+-]*$' || fail "row 0: $(sed -n 2p "$dir/h5.csv")"
sed -n 3p "$dir/h5.csv" | grep -q '^1,1,' || fail "row 1 label: $(sed -n 3p "$dir/h5.csv")"
# the same frames as .npy (+ labels file) give the same CSV, also in other chunk sizes
"$E5" --quiet run --frames "$dir/eg.npy" --labels "$dir/y.npy" --model "eg=$MODEL" --batch 7 \
    -o "$dir/npy.csv" || fail "run --frames eg.npy"
cmp -s "$dir/h5.csv" "$dir/npy.csv" || { diff "$dir/h5.csv" "$dir/npy.csv" | head; fail "h5 and npy differ"; }
# channel 1 is a different input
"$E5" --quiet run --frames "$dir/eg.h5" --model "eg=$MODEL" --frames-channels 1 -o "$dir/c1.csv" \
    || fail "--frames-channels 1"
cmp -s "$dir/h5.csv" "$dir/c1.csv" && fail "--frames-channels 1 changed nothing"
# --dataset: X2 holds X's channels swapped, so its channel 1 is X's channel 0
"$E5" --quiet run --frames "$dir/eg.h5" --dataset X2 --frames-channels 1 --model "eg=$MODEL" \
    -o "$dir/x2.csv" || fail "--dataset X2"
cmp -s "$dir/h5.csv" "$dir/x2.csv" || { diff "$dir/h5.csv" "$dir/x2.csv" | head; fail "--dataset X2 channel 1 differs from /X channel 0"; }
"$E5" --quiet run --frames "$dir/eg.h5" --dataset /X --model "eg=$MODEL" -o "$dir/x1.csv" \
    || fail "--dataset /X"
cmp -s "$dir/h5.csv" "$dir/x1.csv" || fail "--dataset /X differs from the default"
"$E5" run --frames "$dir/eg.h5" --dataset nope --model "eg=$MODEL" -o "$dir/n.csv" \
    > /dev/null 2> "$dir/err"
[ $? -eq 1 ] || fail "--dataset nope: exit status not 1"
grep -q "eg.h5: no dataset /nope (the file has: /X, /X2, /y)" "$dir/err" \
    || fail "--dataset nope message: $(cat "$dir/err")"
# jet images of another size: a clear error, no resize
"$E5" run --frames "$dir/jets.h5" --model "eg=$MODEL" -o "$dir/j.csv" > /dev/null 2> "$dir/err"
[ $? -eq 1 ] || fail "size mismatch: exit status not 1"
grep -q "/X_jets: frames are 30 x 30 .* wants 32 x 32; frames are not resized" "$dir/err" \
    || fail "size mismatch message: $(cat "$dir/err")"
# a build without HDF5 says so
if [ -x "$E2E" ] && [ "$E2E" != "$E5" ]; then
    "$E2E" run --frames "$dir/eg.h5" --model "eg=$MODEL" > /dev/null 2> "$dir/err"
    rc=$?
    if [ $rc -ne 0 ]; then
        grep -q "no HDF5 support" "$dir/err" || fail "no-HDF5 message: $(cat "$dir/err")"
    fi
fi
echo "ok"
