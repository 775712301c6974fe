/* The body of a row-block function of the few-row GEMM (blas_nt.h), included by each
   instruction set's file after its dots(MR, NR, K, A, lda, W, ldw, out): the same blocking
   (4 rows of A by 8 or 4 rows of W) and stores for every set. NT_ROWS names the function. */
ALWAYS_INLINE void nt_store(const e2e_nt_job *j, int m0, int n0, int mr, int nr, float out[4][8])
{
    for (int m = 0; m < mr; m++) {
        float *c = j->C + (long)(m0 + m) * j->ldc + n0;
        for (int r = 0; r < nr; r++)
            c[r] = j->alpha * out[m][r] + (j->beta != 0.f ? j->beta * c[r] : 0.f);
    }
}

void NT_ROWS(const e2e_nt_job *j, int n0, int n1)
{
    float out[4][8];
    const int K = j->K;
    for (int m0 = 0; m0 < j->M; m0 += 4) {
        const float *A = j->A + (long)m0 * j->lda;
        int mr = j->M - m0 < 4 ? j->M - m0 : 4;
        int n = n0;
        switch (mr) {
        case 1:
            for (; n + 8 <= n1; n += 8) {
                dots(1, 8, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out);
                nt_store(j, m0, n, 1, 8, out);
            }
            break;
        case 2:
            for (; n + 4 <= n1; n += 4) {
                dots(2, 4, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out);
                nt_store(j, m0, n, 2, 4, out);
            }
            break;
        case 3:
            for (; n + 4 <= n1; n += 4) {
                dots(3, 4, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out);
                nt_store(j, m0, n, 3, 4, out);
            }
            break;
        default:
            for (; n + 4 <= n1; n += 4) {
                dots(4, 4, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out);
                nt_store(j, m0, n, 4, 4, out);
            }
            break;
        }
        for (; n < n1; n++) { /* leftover rows of W, one at a time */
            switch (mr) {
            case 1: dots(1, 1, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out); break;
            case 2: dots(2, 1, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out); break;
            case 3: dots(3, 1, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out); break;
            default: dots(4, 1, K, A, j->lda, j->W + (long)n * j->ldw, j->ldw, out); break;
            }
            nt_store(j, m0, n, mr, 1, out);
        }
    }
}

#undef NT_ROWS
