#!/usr/bin/python3
"""The share of e2e run's event time that is not inference (issue 20, point 7), for two
builds side by side: alternating runs (A B, B A, ...) of `e2e run --timing-json` with the
trained taggers, medians over the rounds of each stage's mean and p50 (ms per event).

    python3 bench/pipeline_share.py A_E2E B_E2E ROUNDS EVENTS [EXTRA_ARGS...]

e.g. bench/pipeline_share.py /tmp/main/e2e build/e2e 6 build/cache/e2e/sample/events.e2e
     bench/pipeline_share.py /tmp/main/e2e build/e2e 6 ev300.e2e --warmup 16

share (means) = (total - the four tagger rows) / total, the definition of docs/benchmarks.md;
share (p50) = the non-inference stages' p50s summed / (that + the tagger rows' p50s), less
sensitive to preemption on a loaded machine. Also checks that both builds wrote the same CSV."""
import json, os, resource, statistics, subprocess, sys, tempfile

INFER = {'EGTagger', 'QGTagger', 'TopTagger', 'TauTagger'}


def run(e2e, events, extra, tmp, tag):
    csv, js = os.path.join(tmp, tag + '.csv'), os.path.join(tmp, tag + '.json')
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([e2e, 'run', '--events', events, *extra, '--no-progress', '-q', '-o', csv,
                    '--timing-json', js], stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    st = {s['stage']: s for s in json.load(open(js))['stages']}
    tot, inf = st['total']['mean_ms'], sum(st[k]['mean_ms'] for k in INFER)
    o50 = sum(s['p50_ms'] for k, s in st.items() if k not in INFER and k != 'total')
    i50 = sum(st[k]['p50_ms'] for k in INFER)
    r = {'total (mean)': tot, 'inference (mean)': inf, 'not inference (mean)': tot - inf,
         'share % (means)': 100 * (tot - inf) / tot, 'not inference (p50s)': o50,
         'share % (p50s)': 100 * o50 / (o50 + i50),
         'CPU s per job': after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime}
    for k, s in st.items():
        r['  ' + k] = (s['mean_ms'], s['p50_ms'])
    return r, open(csv, 'rb').read()


def main():
    a, b, rounds, events, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
    res = {'A': [], 'B': []}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            out = {}
            for tag in ('AB' if i % 2 == 0 else 'BA'):
                r, out[tag] = run(a if tag == 'A' else b, events, extra, tmp, tag)
                res[tag].append(r)
            if out['A'] != out['B']:
                sys.exit('the two builds wrote different CSVs (round %d)' % i)
            loads.append(os.getloadavg()[0])
    print('A = %s, B = %s, %d alternating rounds, medians; the CSVs are identical' % (a, b, rounds))
    print('load average (1 min) after each round: ' + ' '.join('%.1f' % x for x in loads))
    print('%-28s %21s %21s' % ('ms per event', 'A mean / p50', 'B mean / p50'))
    for k in res['A'][0]:
        if isinstance(res['A'][0][k], tuple):
            m = [statistics.median(x[k][j] for x in res[t]) for t in 'AB' for j in (0, 1)]
            print('%-28s %10.4f / %8.4f %10.4f / %8.4f' % (k, *m))
        else:
            print('%-28s %21.4f %21.4f' % (k, statistics.median(x[k] for x in res['A']),
                                           statistics.median(x[k] for x in res['B'])))


if __name__ == '__main__':
    main()
