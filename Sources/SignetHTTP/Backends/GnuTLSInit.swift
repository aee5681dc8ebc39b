// Debian's libcurl links librtmp, which links GnuTLS, so every Signet process loads GnuTLS although
// nothing in it uses GnuTLS: TLS goes through libcurl's OpenSSL backend and every transfer is limited to
// http and https (CURLOPT_PROTOCOLS_STR), never rtmp. GnuTLS initialises itself when it is loaded
// (parsing its ASN.1 tables, seeding its generator: about 0.7 ms of each start on a small machine)
// unless the program defines `_gnutls_global_init_skip` returning non-zero, the hook behind gnutls.h's
// GNUTLS_SKIP_GLOBAL_INIT. Code that does use GnuTLS calls gnutls_global_init() itself, which still
// works; librtmp does so before any TLS connection.

/// Read by GnuTLS's load-time constructor; 1 skips its implicit initialisation.
@_cdecl("_gnutls_global_init_skip")
public func gnutlsGlobalInitSkip() -> Int32 { 1 }
