#ifndef SIGNET_COPENSSL_SHIM_H
#define SIGNET_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pkcs12.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

/* Wrappers for OpenSSL macros, which Swift cannot call. */
static inline int signet_evp_pkey_ec(void) { return EVP_PKEY_EC; }
static inline int signet_evp_pkey_rsa(void) { return EVP_PKEY_RSA; }
static inline int signet_evp_pkey_rsa_pss(void) { return EVP_PKEY_RSA_PSS; }
static inline int signet_evp_pkey_ed25519(void) { return EVP_PKEY_ED25519; }
static inline int signet_rsa_pkcs1_pss_padding(void) { return RSA_PKCS1_PSS_PADDING; }
static inline int signet_rsa_pss_saltlen_digest(void) { return RSA_PSS_SALTLEN_DIGEST; }
static inline int signet_rsa_pss_saltlen_auto(void) { return RSA_PSS_SALTLEN_AUTO; }
static inline int signet_nid_x9_62_prime256v1(void) { return NID_X9_62_prime256v1; }
static inline int signet_nid_secp384r1(void) { return NID_secp384r1; }
static inline int signet_evp_pkey_keypair(void) { return EVP_PKEY_KEYPAIR; }
static inline int signet_evp_max_md_size(void) { return EVP_MAX_MD_SIZE; }
static inline int signet_evp_pkey_ctx_set_rsa_padding(EVP_PKEY_CTX *ctx, int pad) { return EVP_PKEY_CTX_set_rsa_padding(ctx, pad); }
static inline int signet_evp_pkey_ctx_set_rsa_pss_saltlen(EVP_PKEY_CTX *ctx, int len) { return EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, len); }
static inline int signet_evp_pkey_ctx_set_rsa_mgf1_md(EVP_PKEY_CTX *ctx, const EVP_MD *md) { return EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md); }
static inline int signet_evp_pkey_ctx_set_ec_paramgen_curve_nid(EVP_PKEY_CTX *ctx, int nid) { return EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, nid); }
static inline BIO *signet_bio_new_mem(void) { return BIO_new(BIO_s_mem()); }
static inline long signet_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline void signet_openssl_free(void *p) { OPENSSL_free(p); }

/* An EC public key from a group name and an encoded point (EVP_PKEY_fromdata, which checks that the
   point is on the curve), without OpenSSL's generic DER decoder machinery. NULL on any failure. */
static inline EVP_PKEY *signet_ec_public_key_from_point(const char *group, const unsigned char *point, size_t length) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL) return NULL;
    EVP_PKEY *key = NULL;
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, length);
    params[2] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}
/* The work an encrypted PKCS#8 key asks for before its passphrase can be checked: the PBKDF2 or
   PKCS#5 v1.5 / PKCS#12 iteration count, or scrypt's N*r*p. Returns 0 and sets *cost, or -1 when the
   parameters cannot be read or name another key derivation (PKCS8_decrypt would then fail anyway). */
static inline int signet_pkcs8_kdf_cost(const X509_SIG *sig, unsigned long long *cost) {
    const X509_ALGOR *alg = NULL;
    X509_SIG_get0(sig, &alg, NULL);
    if (alg == NULL || alg->parameter == NULL) return -1;
    int nid = OBJ_obj2nid(alg->algorithm);
    int result = -1;
    if (nid == NID_pbes2) {
        PBE2PARAM *pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
        if (pbe2 == NULL) return -1;
        if (pbe2->keyfunc != NULL && pbe2->keyfunc->parameter != NULL) {
            int kdf = OBJ_obj2nid(pbe2->keyfunc->algorithm);
            if (kdf == NID_id_pbkdf2) {
                PBKDF2PARAM *p = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
                uint64_t iter = 0;
                if (p != NULL && p->iter != NULL && ASN1_INTEGER_get_uint64(&iter, p->iter) == 1) { *cost = iter; result = 0; }
                PBKDF2PARAM_free(p);
            } else if (kdf == NID_id_scrypt) {
                SCRYPT_PARAMS *p = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), pbe2->keyfunc->parameter);
                uint64_t n = 0, r = 0, q = 0;
                if (p != NULL && p->costParameter != NULL && p->blockSize != NULL && p->parallelizationParameter != NULL
                    && ASN1_INTEGER_get_uint64(&n, p->costParameter) == 1 && ASN1_INTEGER_get_uint64(&r, p->blockSize) == 1
                    && ASN1_INTEGER_get_uint64(&q, p->parallelizationParameter) == 1
                    && n <= (1ULL << 40) && r <= (1ULL << 20) && q <= (1ULL << 20)) {
                    unsigned long long product = n * r;
                    *cost = product > (1ULL << 60) / (q ? q : 1) ? (1ULL << 60) : product * q;
                    result = 0;
                }
                SCRYPT_PARAMS_free(p);
            }
        }
        PBE2PARAM_free(pbe2);
    } else {
        PBEPARAM *p = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
        uint64_t iter = 0;
        if (p != NULL && p->iter != NULL && ASN1_INTEGER_get_uint64(&iter, p->iter) == 1) { *cost = iter; result = 0; }
        PBEPARAM_free(p);
    }
    return result;
}
/* prctl(2) is variadic, so Swift cannot call it: marks the process not dumpable (no core file, no
   ptrace attach by other processes of the same user), for the process that holds unlocked keys. */
#include <sys/prctl.h>
static inline int signet_set_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
#endif
