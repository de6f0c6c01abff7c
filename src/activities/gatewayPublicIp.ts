import { activity } from './context';

/** GetApplicationGatewayPublicIpStep: every public IP of the gateway's frontends. */
export const getGatewayPublicIps = activity<void, string[]>(async (_input, { gateway }) => gateway.publicIps());
