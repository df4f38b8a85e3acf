/** The cloud adapter's public surface: regions, endpoints and overrides, signing, credential and permission checks. */
export * from './regions.js';
export * from './endpoints.js';
export * from './errors.js';
export * from './signing.js';
export { send, classifyNetworkError, DEFAULT_TIMEOUT_MS, type TransportOptions, type HttpResponse, type OutgoingRequest, type SendResult } from './transport.js';
export * from './credentials.js';
export * from './permissions.js';
