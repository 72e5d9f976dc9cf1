/** `ICapabilitiesServiceV2`: what the agent says it can do. */
import { encodeCapabilitiesResponseV2 } from '../../contracts/index.js';
import type { ServiceImplementation } from '../service-dispatch.js';

export function createCapabilitiesService(capabilities: readonly string[]): ServiceImplementation {
  return {
    GetCapabilities(): unknown {
      return encodeCapabilitiesResponseV2({ SupportedCapabilities: [...capabilities] });
    },
  };
}
