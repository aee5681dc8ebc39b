#ifndef SIGNET_CCURL_SHIM_H
#define SIGNET_CCURL_SHIM_H

/*
 * libcurl is loaded when it is first needed (dlopen), not when the program
 * starts: its ~30 dependencies (GnuTLS, Kerberos, LDAP, ...) cost about 4 ms
 * of every start, which a command can spend on other work meanwhile, and a
 * process that never makes a request (the agent holding keys, key and help
 * commands) never maps them. `struct signet_curl` holds the functions Signet
 * uses, looked up once by name; every call goes through one of the wrappers
 * below, which take the table first.
 *
 * libcurl's option setters and getters are variadic, which Swift cannot call.
 * Each setter wrapper fixes the type of the single variadic argument, one
 * wrapper per kind of argument, so the Swift side always passes exactly the
 * type libcurl expects for the option it sets.
 */

#include <curl/curl.h>
#include <dlfcn.h>
#include <stddef.h>

struct signet_curl {
    CURLcode (*global_init)(long flags);
    curl_version_info_data *(*version_info)(CURLversion version);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *handle);
    void (*easy_reset)(CURL *handle);
    CURLcode (*easy_perform)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLSH *(*share_init)(void);
    CURLSHcode (*share_cleanup)(CURLSH *share);
    CURLSHcode (*share_setopt)(CURLSH *share, CURLSHoption option, ...);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *handle);
    CURLUcode (*url_set)(CURLU *handle, CURLUPart what, const char *part, unsigned int flags);
    CURLUcode (*url_get)(const CURLU *handle, CURLUPart what, char **part, unsigned int flags);
    void (*free)(void *p);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *data);
    void (*slist_free_all)(struct curl_slist *list);
};

/*
 * Fills `api` from `library` (a dlopen handle). Returns NULL when every
 * function was found, else the name of the first one missing.
 */
static inline const char *signet_curl_resolve(void *library, struct signet_curl *api) {
#define SIGNET_CURL_RESOLVE(field, name) \
    if ((*(void **)(&api->field) = dlsym(library, name)) == NULL) return name;
    SIGNET_CURL_RESOLVE(global_init, "curl_global_init")
    SIGNET_CURL_RESOLVE(version_info, "curl_version_info")
    SIGNET_CURL_RESOLVE(easy_init, "curl_easy_init")
    SIGNET_CURL_RESOLVE(easy_cleanup, "curl_easy_cleanup")
    SIGNET_CURL_RESOLVE(easy_reset, "curl_easy_reset")
    SIGNET_CURL_RESOLVE(easy_perform, "curl_easy_perform")
    SIGNET_CURL_RESOLVE(easy_strerror, "curl_easy_strerror")
    SIGNET_CURL_RESOLVE(easy_setopt, "curl_easy_setopt")
    SIGNET_CURL_RESOLVE(share_init, "curl_share_init")
    SIGNET_CURL_RESOLVE(share_cleanup, "curl_share_cleanup")
    SIGNET_CURL_RESOLVE(share_setopt, "curl_share_setopt")
    SIGNET_CURL_RESOLVE(url, "curl_url")
    SIGNET_CURL_RESOLVE(url_cleanup, "curl_url_cleanup")
    SIGNET_CURL_RESOLVE(url_set, "curl_url_set")
    SIGNET_CURL_RESOLVE(url_get, "curl_url_get")
    SIGNET_CURL_RESOLVE(free, "curl_free")
    SIGNET_CURL_RESOLVE(slist_append, "curl_slist_append")
    SIGNET_CURL_RESOLVE(slist_free_all, "curl_slist_free_all")
#undef SIGNET_CURL_RESOLVE
    return NULL;
}

static inline CURLcode signet_curl_global_init(const struct signet_curl *api, long flags) { return api->global_init(flags); }

/* curl_version_info for the CURLVERSION_NOW macro of the headers compiled against. */
static inline curl_version_info_data *signet_curl_version_info(const struct signet_curl *api) { return api->version_info(CURLVERSION_NOW); }

static inline CURL *signet_curl_easy_init(const struct signet_curl *api) { return api->easy_init(); }
static inline void signet_curl_easy_cleanup(const struct signet_curl *api, CURL *handle) { api->easy_cleanup(handle); }
static inline void signet_curl_easy_reset(const struct signet_curl *api, CURL *handle) { api->easy_reset(handle); }
static inline CURLcode signet_curl_easy_perform(const struct signet_curl *api, CURL *handle) { return api->easy_perform(handle); }
static inline const char *signet_curl_easy_strerror(const struct signet_curl *api, CURLcode code) { return api->easy_strerror(code); }

/* curl_easy_setopt: options of type long (flags, sizes, timeouts in ms). */
static inline CURLcode signet_curl_easy_setopt_long(const struct signet_curl *api, CURL *handle, CURLoption option, long value) {
    return api->easy_setopt(handle, option, value);
}

/* curl_easy_setopt: options of type curl_off_t (large sizes). */
static inline CURLcode signet_curl_easy_setopt_off(const struct signet_curl *api, CURL *handle, CURLoption option, curl_off_t value) {
    return api->easy_setopt(handle, option, value);
}

/* curl_easy_setopt: NUL-terminated string options (libcurl copies them). */
static inline CURLcode signet_curl_easy_setopt_string(const struct signet_curl *api, CURL *handle, CURLoption option, const char *value) {
    return api->easy_setopt(handle, option, value);
}

/* curl_easy_setopt: opaque pointer options (callback user data, buffers, shares). */
static inline CURLcode signet_curl_easy_setopt_pointer(const struct signet_curl *api, CURL *handle, CURLoption option, void *value) {
    return api->easy_setopt(handle, option, value);
}

/* curl_easy_setopt: header lists. */
static inline CURLcode signet_curl_easy_setopt_slist(const struct signet_curl *api, CURL *handle, CURLoption option, struct curl_slist *value) {
    return api->easy_setopt(handle, option, value);
}

/* curl_easy_setopt: CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION. */
static inline CURLcode signet_curl_easy_setopt_write_callback(const struct signet_curl *api, CURL *handle, CURLoption option, curl_write_callback value) {
    return api->easy_setopt(handle, option, value);
}

/* curl_easy_setopt: CURLOPT_READFUNCTION. */
static inline CURLcode signet_curl_easy_setopt_read_callback(const struct signet_curl *api, CURL *handle, CURLoption option, curl_read_callback value) {
    return api->easy_setopt(handle, option, value);
}

/* curl_easy_setopt: CURLOPT_SEEKFUNCTION. */
static inline CURLcode signet_curl_easy_setopt_seek_callback(const struct signet_curl *api, CURL *handle, CURLoption option, curl_seek_callback value) {
    return api->easy_setopt(handle, option, value);
}

/* curl_easy_setopt: CURLOPT_XFERINFOFUNCTION. */
static inline CURLcode signet_curl_easy_setopt_xferinfo_callback(const struct signet_curl *api, CURL *handle, CURLoption option, curl_xferinfo_callback value) {
    return api->easy_setopt(handle, option, value);
}

static inline CURLSH *signet_curl_share_init(const struct signet_curl *api) { return api->share_init(); }
static inline CURLSHcode signet_curl_share_cleanup(const struct signet_curl *api, CURLSH *share) { return api->share_cleanup(share); }

/* curl_share_setopt: CURLSHOPT_SHARE / CURLSHOPT_UNSHARE (libcurl reads the curl_lock_data as an int). */
static inline CURLSHcode signet_curl_share_setopt_int(const struct signet_curl *api, CURLSH *share, CURLSHoption option, int value) {
    return api->share_setopt(share, option, value);
}

/* curl_share_setopt: CURLSHOPT_USERDATA. */
static inline CURLSHcode signet_curl_share_setopt_pointer(const struct signet_curl *api, CURLSH *share, CURLSHoption option, void *value) {
    return api->share_setopt(share, option, value);
}

/* curl_share_setopt: CURLSHOPT_LOCKFUNC. */
static inline CURLSHcode signet_curl_share_setopt_lock_callback(const struct signet_curl *api, CURLSH *share, CURLSHoption option, curl_lock_function value) {
    return api->share_setopt(share, option, value);
}

/* curl_share_setopt: CURLSHOPT_UNLOCKFUNC. */
static inline CURLSHcode signet_curl_share_setopt_unlock_callback(const struct signet_curl *api, CURLSH *share, CURLSHoption option, curl_unlock_function value) {
    return api->share_setopt(share, option, value);
}

static inline CURLU *signet_curl_url(const struct signet_curl *api) { return api->url(); }
static inline void signet_curl_url_cleanup(const struct signet_curl *api, CURLU *handle) { api->url_cleanup(handle); }
static inline CURLUcode signet_curl_url_set(const struct signet_curl *api, CURLU *handle, CURLUPart what, const char *part, unsigned int flags) {
    return api->url_set(handle, what, part, flags);
}
static inline CURLUcode signet_curl_url_get(const struct signet_curl *api, const CURLU *handle, CURLUPart what, char **part, unsigned int flags) {
    return api->url_get(handle, what, part, flags);
}
static inline void signet_curl_free(const struct signet_curl *api, void *p) { api->free(p); }
static inline struct curl_slist *signet_curl_slist_append(const struct signet_curl *api, struct curl_slist *list, const char *data) {
    return api->slist_append(list, data);
}
static inline void signet_curl_slist_free_all(const struct signet_curl *api, struct curl_slist *list) { api->slist_free_all(list); }

#endif
