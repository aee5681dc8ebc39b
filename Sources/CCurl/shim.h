#ifndef SIGNET_CCURL_SHIM_H
#define SIGNET_CCURL_SHIM_H

/*
 * libcurl's option setters and getters are variadic, which Swift cannot call.
 * Each wrapper below fixes the type of the single variadic argument, one
 * wrapper per kind of argument, so the Swift side always passes exactly the
 * type libcurl expects for the option it sets.
 */

#include <curl/curl.h>

/* curl_easy_setopt: options of type long (flags, sizes, timeouts in ms). */
static inline CURLcode signet_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/* curl_easy_setopt: options of type curl_off_t (large sizes). */
static inline CURLcode signet_curl_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/* curl_easy_setopt: NUL-terminated string options (libcurl copies them). */
static inline CURLcode signet_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/* curl_easy_setopt: opaque pointer options (callback user data, buffers, shares). */
static inline CURLcode signet_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/* curl_easy_setopt: header lists. */
static inline CURLcode signet_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/* curl_easy_setopt: CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION. */
static inline CURLcode signet_curl_easy_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/* curl_easy_setopt: CURLOPT_READFUNCTION. */
static inline CURLcode signet_curl_easy_setopt_read_callback(CURL *handle, CURLoption option, curl_read_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/* curl_easy_setopt: CURLOPT_SEEKFUNCTION. */
static inline CURLcode signet_curl_easy_setopt_seek_callback(CURL *handle, CURLoption option, curl_seek_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/* curl_easy_getinfo: CURLINFO_LONG values. */
static inline CURLcode signet_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/* curl_easy_getinfo: CURLINFO_STRING values (owned by the handle; do not free). */
static inline CURLcode signet_curl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value) {
    return curl_easy_getinfo(handle, info, value);
}

/* curl_easy_getinfo: CURLINFO_OFF_T values. */
static inline CURLcode signet_curl_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

/* curl_version_info for the CURLVERSION_NOW macro of the headers compiled against. */
static inline CURLcode signet_curl_easy_setopt_xferinfo_callback(CURL *handle, CURLoption option, curl_xferinfo_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline curl_version_info_data *signet_curl_version_info(void) {
    return curl_version_info(CURLVERSION_NOW);
}

/* curl_share_setopt: CURLSHOPT_SHARE / CURLSHOPT_UNSHARE (value is a curl_lock_data). */
static inline CURLSHcode signet_curl_share_setopt_long(CURLSH *share, CURLSHoption option, long value) {
    return curl_share_setopt(share, option, value);
}

/* curl_share_setopt: CURLSHOPT_USERDATA. */
static inline CURLSHcode signet_curl_share_setopt_pointer(CURLSH *share, CURLSHoption option, void *value) {
    return curl_share_setopt(share, option, value);
}

/* curl_share_setopt: CURLSHOPT_LOCKFUNC. */
static inline CURLSHcode signet_curl_share_setopt_lock_callback(CURLSH *share, CURLSHoption option, curl_lock_function value) {
    return curl_share_setopt(share, option, value);
}

/* curl_share_setopt: CURLSHOPT_UNLOCKFUNC. */
static inline CURLSHcode signet_curl_share_setopt_unlock_callback(CURLSH *share, CURLSHoption option, curl_unlock_function value) {
    return curl_share_setopt(share, option, value);
}

#endif
