/* Baseline for `signet-bench ed25519`: libsodium's verify in a plain C loop over the same message size. */
#include <sodium.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void) {
    if (sodium_init() < 0) return 1;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
    unsigned char msg[256];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = 0x5a;
    crypto_sign_keypair(pk, sk);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    long count = 0;
    double t0 = now(), elapsed = 0;
    while (elapsed < 2.0) {
        for (int i = 0; i < 1000; i++) {
            if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0) return 1;
        }
        count += 1000;
        elapsed = now() - t0;
    }
    printf("c_ed25519_verify message_bytes=256 verifications=%ld seconds=%.3f per_second=%.0f\n", count, elapsed, count / elapsed);
    return 0;
}
