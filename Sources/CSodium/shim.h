#ifndef SIGNET_CSODIUM_SHIM_H
#define SIGNET_CSODIUM_SHIM_H
#include <sodium.h>

/* Macros are not visible to Swift; expose the ones Signet needs as functions. */
static inline size_t signet_sodium_ed25519_publickeybytes(void) { return crypto_sign_PUBLICKEYBYTES; }
static inline size_t signet_sodium_ed25519_secretkeybytes(void) { return crypto_sign_SECRETKEYBYTES; }
static inline size_t signet_sodium_ed25519_seedbytes(void) { return crypto_sign_SEEDBYTES; }
static inline size_t signet_sodium_ed25519_bytes(void) { return crypto_sign_BYTES; }
static inline int signet_sodium_pwhash_alg_argon2id13(void) { return crypto_pwhash_ALG_ARGON2ID13; }
static inline size_t signet_sodium_pwhash_saltbytes(void) { return crypto_pwhash_SALTBYTES; }
static inline unsigned long long signet_sodium_pwhash_opslimit_moderate(void) { return crypto_pwhash_OPSLIMIT_MODERATE; }
static inline size_t signet_sodium_pwhash_memlimit_moderate(void) { return crypto_pwhash_MEMLIMIT_MODERATE; }
static inline unsigned long long signet_sodium_pwhash_opslimit_min(void) { return crypto_pwhash_OPSLIMIT_MIN; }
static inline size_t signet_sodium_pwhash_memlimit_min(void) { return crypto_pwhash_MEMLIMIT_MIN; }
static inline size_t signet_sodium_xchacha_keybytes(void) { return crypto_aead_xchacha20poly1305_ietf_KEYBYTES; }
static inline size_t signet_sodium_xchacha_npubbytes(void) { return crypto_aead_xchacha20poly1305_ietf_NPUBBYTES; }
static inline size_t signet_sodium_xchacha_abytes(void) { return crypto_aead_xchacha20poly1305_ietf_ABYTES; }

#endif
