export { startTokenServer } from './tokenServer';
export type { ManagedIdentity, TokenServer } from './tokenServer';
export { audienceOf, bearerProblem, mintToken, readClaims, verifyBearer } from './jwt';
export type { TokenClaims } from './jwt';
