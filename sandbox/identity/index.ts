export { startTokenServer } from './tokenServer';
export type { ManagedIdentity, TokenServer } from './tokenServer';
export { audienceOf, bearerProblem, mintToken, mintUserToken, readClaims, verifyBearer, verifySignedToken } from './jwt';
export type { TokenClaims, UserTokenOptions } from './jwt';
